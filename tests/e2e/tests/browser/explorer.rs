//! The topic explorer and the message log against mosquitto: the tree of
//! retained topics, opening and filtering it by mouse and keyboard, the
//! last message in the payload views, the log paused, resumed and
//! filtered, and each message once although devices subscribed to it too.

use e2e::{Devsim, Mosquitto, StaticServer};
use fantoccini::key::Key;

use crate::devsim::{publish_all, publish_retained};
use crate::harness::*;

/// Connects and watches `#`.
async fn watch_everything(
    browser: &Browser,
    server: &StaticServer,
    broker: &Mosquitto,
    client_id: &str,
) -> Result {
    connect_with_form(browser, server, broker, client_id).await?;
    browser.click("watch").await?;
    wait_until(browser, "the watch to start", || async {
        Ok(browser
            .text("watch-summary")
            .await?
            .starts_with("Watching #"))
    })
    .await
}

async fn exists(browser: &Browser, testid: &str) -> Result<bool> {
    Ok(js(
        browser,
        &format!("return !!document.querySelector('[data-testid=\"{testid}\"]')"),
    )
    .await?
    .as_bool()
        == Some(true))
}

async fn row_exists(browser: &Browser, path: &str) -> Result<bool> {
    exists(browser, &format!("topic-{path}")).await
}

#[tokio::test(flavor = "current_thread")]
async fn the_tree_shows_retained_topics_and_opens_by_mouse_and_keyboard() {
    with_browser("explorer_tree", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let port = broker.tcp_port;
        publish_retained(port, "home/kitchen/temp", "21.5")?;
        publish_retained(port, "home/kitchen/humidity", "40")?;
        publish_retained(
            port,
            "home/hall/light",
            r#"{"state":"ON","brightness":128}"#,
        )?;
        publish_retained(port, "garden/pump", "OFF")?;
        watch_everything(browser, &server, &broker, "e2e-tree").await?;

        // Top levels, closed, with their counts.
        wait_until(browser, "the top levels", || async {
            Ok(row_exists(browser, "home").await? && row_exists(browser, "garden").await?)
        })
        .await?;
        let home = browser.text("topic-home").await?;
        if !home.contains("3 topics · 3 msgs") {
            return Err(format!("home row reads {home:?}").into());
        }
        if row_exists(browser, "home/kitchen").await? {
            return Err("a closed level shows its children".into());
        }

        // Mouse: open home, then hall; the light's retained JSON shows
        // pretty in the detail pane.
        browser.click("expand-home").await?;
        wait_until(browser, "home's children", || async {
            row_exists(browser, "home/hall").await
        })
        .await?;
        browser.click("expand-home/hall").await?;
        wait_until(browser, "the light", || async {
            row_exists(browser, "home/hall/light").await
        })
        .await?;
        if !exists(browser, "retained-home/hall/light").await? {
            return Err("the light's retained message is not marked".into());
        }
        // How long ago its last message came.
        wait_until(browser, "the light's age", || async {
            Ok(texts(browser, "age-home/hall/light")
                .await?
                .iter()
                .any(|t| t.ends_with(" s ago")))
        })
        .await?;
        browser.click("topic-home/hall/light").await?;
        wait_until(browser, "the light's message, pretty", || async {
            Ok(browser.text("payload").await?
                == "{\n  \"state\": \"ON\",\n  \"brightness\": 128\n}")
        })
        .await?;
        browser.click("view-hex").await?;
        wait_until(browser, "the hex view", || async {
            Ok(browser
                .text("payload")
                .await?
                .starts_with("00000000  7b 22 73 74"))
        })
        .await?;

        // Keyboard: Home focuses the first row (garden), Down moves to
        // home, Left closes it, Right opens it, Enter opens the topic.
        let tree = browser
            .client
            .find(fantoccini::Locator::Css("[data-testid='topic-tree']"))
            .await?;
        tree.send_keys(&format!("{}", Key::Home)).await?;
        tree.send_keys(&format!("{}", Key::Down)).await?;
        tree.send_keys(&format!("{}", Key::Left)).await?;
        wait_until(browser, "home closed by the keyboard", || async {
            Ok(browser
                .attr("topic-home", "aria-expanded")
                .await?
                .as_deref()
                == Some("false"))
        })
        .await?;
        tree.send_keys(&format!("{}", Key::Right)).await?;
        wait_until(browser, "home opened by the keyboard", || async {
            Ok(browser
                .attr("topic-home", "aria-expanded")
                .await?
                .as_deref()
                == Some("true"))
        })
        .await?;
        tree.send_keys(&format!("{}", Key::Enter)).await?;
        wait_until(browser, "home opened in the detail pane", || async {
            Ok(browser.text("detail-topic").await? == "home")
        })
        .await?;
        let active = browser.attr("topic-tree", "aria-activedescendant").await?;
        let home_id = browser.attr("topic-home", "id").await?;
        if active.is_none() || active != home_id {
            return Err(format!("focus is on {active:?}, home is {home_id:?}").into());
        }

        // A topic filter: only the matching topic and the levels above it.
        browser.type_into("tree-filter", "home/+/temp").await?;
        wait_until(browser, "the filtered tree", || async {
            Ok(row_exists(browser, "home/kitchen/temp").await?
                && !row_exists(browser, "garden").await?
                && !row_exists(browser, "home/hall").await?)
        })
        .await?;
        browser.type_into("tree-filter", "home/#/x").await?;
        wait_until(browser, "the filter's error", || async {
            Ok(browser
                .text("tree-filter-error")
                .await?
                .contains("last level"))
        })
        .await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_log_pauses_resumes_and_filters_without_losing_a_message() {
    with_browser("explorer_log", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        let port = broker.tcp_port;
        watch_everything(browser, &server, &broker, "e2e-log").await?;
        let batch = |from: u32, to: u32| {
            (from..to).map(|i| {
                (
                    format!("log/{}", if i % 2 == 0 { "even" } else { "odd" }),
                    format!("m{i}"),
                )
            })
        };
        publish_all(port, batch(0, 4))?;
        wait_until(browser, "4 messages, newest first", || async {
            Ok(texts(browser, "log-preview").await? == ["m3", "m2", "m1", "m0"])
        })
        .await?;

        browser.click("log-pause").await?;
        publish_all(port, batch(4, 7))?;
        wait_until(browser, "the paused log to count 3 new", || async {
            Ok(browser.text("log-summary").await?.contains("3 new since"))
        })
        .await?;
        let frozen = texts(browser, "log-preview").await?;
        if frozen != ["m3", "m2", "m1", "m0"] {
            return Err(format!("the paused log moved: {frozen:?}").into());
        }
        browser.click("log-pause").await?;
        wait_until(browser, "all 7 after resuming", || async {
            Ok(texts(browser, "log-preview").await?.len() == 7)
        })
        .await?;

        browser.type_into("log-filter", "log/even").await?;
        wait_until(browser, "only the even ones", || async {
            Ok(texts(browser, "log-preview").await? == ["m6", "m4", "m2", "m0"])
        })
        .await?;
        browser.type_into("log-filter", "m5").await?;
        wait_until(browser, "text search", || async {
            Ok(texts(browser, "log-preview").await? == ["m5"])
        })
        .await
    })
    .await;
}

/// mosquitto sends MQTT 5 clients one copy per matching subscription:
/// with `#` watched next to the devices' own filters, every message would
/// come twice. The page drops the filters `#` covers while it watches.
#[tokio::test(flavor = "current_thread")]
async fn a_device_message_is_logged_once_while_devices_subscribe_too() {
    with_browser("explorer_once", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let _devsim = Devsim::start(broker.tcp_port, &["plug1"])?;
        let server = StaticServer::start(&dist(), 0)?;
        watch_everything(browser, &server, &broker, "e2e-once").await?;
        wait_for_state(browser, "state-plug1-1", "OFF").await?;

        // The toggle still works with the device filters gone.
        browser.click("toggle-plug1-1").await?;
        wait_for_state(browser, "state-plug1-1", "ON").await?;
        // Anything after this marker arrived after every copy of what came
        // before it (a broker delivers in order).
        publish_all(
            broker.tcp_port,
            [("zz/marker".to_owned(), "end".to_owned())],
        )?;
        wait_until(browser, "the marker", || async {
            Ok(texts(browser, "log-topic")
                .await?
                .iter()
                .any(|t| t == "zz/marker"))
        })
        .await?;
        let topics = texts(browser, "log-topic").await?;
        let previews = texts(browser, "log-preview").await?;
        let confirmations = topics
            .iter()
            .zip(&previews)
            .filter(|(t, p)| *t == "stat/plug1/POWER" && *p == "ON")
            .count();
        if confirmations != 1 {
            return Err(format!(
                "stat/plug1/POWER ON logged {confirmations} times: {topics:?} {previews:?}"
            )
            .into());
        }
        // And stopping gives the devices their filters back.
        browser.click("unwatch").await?;
        browser.click("toggle-plug1-1").await?;
        wait_for_state(browser, "state-plug1-1", "OFF").await
    })
    .await;
}

async fn open_subscriptions(browser: &Browser) -> Result {
    browser.click("subscriptions-open").await?;
    wait_until(browser, "the subscribe form", || async {
        Ok(!texts(browser, "subscribe").await?.is_empty())
    })
    .await
}

async fn add_subscription(browser: &Browser, filter: &str) -> Result {
    browser.type_into("subscribe-filter", filter).await?;
    browser.click("subscribe").await
}

#[tokio::test(flavor = "current_thread")]
async fn subscriptions_are_listed_added_with_options_covered_and_removed() {
    with_browser("subscriptions", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let server = StaticServer::start(&dist(), 0)?;
        connect_with_form(browser, &server, &broker, "e2e-subs").await?;
        open_subscriptions(browser).await?;
        // The devices' filters are there, subscribed.
        wait_until(browser, "the Tasmota filter, subscribed", || async {
            Ok(texts(browser, "subscription-state-tele/+/LWT").await? == ["subscribed"])
        })
        .await?;

        // Yours, with MQTT 5 options.
        browser.click("subscribe-no-local").await?;
        browser.click("subscribe-as-published").await?;
        add_subscription(browser, "notes/#").await?;
        wait_until(browser, "notes/# subscribed", || async {
            Ok(texts(browser, "subscription-state-notes/#").await? == ["subscribed"])
        })
        .await?;
        let row = browser.text("subscription-notes/#").await?;
        if !row.contains("you") || !row.contains("no local") || !row.contains("retain as published")
        {
            return Err(format!("the row reads {row:?}").into());
        }
        // Kept with the connection, options included: there after a reload.
        reload_and_reconnect(browser, &broker).await?;
        open_subscriptions(browser).await?;
        wait_until(
            browser,
            "notes/# with its options after the reload",
            || async {
                let row = texts(browser, "subscription-notes/#").await?;
                Ok(row.len() == 1
                    && row[0].contains("no local")
                    && row[0].contains("retain as published")
                    && texts(browser, "subscription-state-notes/#").await? == ["subscribed"])
            },
        )
        .await?;

        // A broken filter is refused with the rule.
        add_subscription(browser, "a/#/b").await?;
        wait_until(browser, "the refusal", || async {
            Ok(browser
                .text("subscribe-error")
                .await?
                .contains("last level"))
        })
        .await?;

        // Watching # covers the rest.
        browser.click("watch").await?;
        wait_until(browser, "the device filters covered by #", || async {
            Ok(texts(browser, "subscription-state-tele/+/LWT").await?
                == ["covered by another filter"]
                && texts(browser, "subscription-state-#").await? == ["subscribed"])
        })
        .await?;

        // Removed: gone from the list, and from the profile.
        browser.click("unsubscribe-notes/#").await?;
        wait_until(browser, "notes/# gone", || async {
            Ok(texts(browser, "subscription-notes/#").await?.is_empty())
        })
        .await?;
        let stored = js(browser, "return localStorage.getItem('plugboard.profiles')").await?;
        if stored.as_str().unwrap_or_default().contains("notes/#") {
            return Err("the removed filter is still in the profile".into());
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_subscription_is_shown_on_its_filter_with_the_reason() {
    with_browser("subscription_refused", async |browser, _dir| {
        let broker = e2e::HostileBroker::start(e2e::HostileMode::RefuseSecret)?;
        let server = StaticServer::start(&dist(), 0)?;
        open_for(browser, &server, &broker.ws_url()).await?;
        wait_for_connection(browser, "subscribed").await?;
        open_subscriptions(browser).await?;
        add_subscription(browser, "secret/#").await?;
        wait_until(browser, "the refusal on its row", || async {
            let state = texts(browser, "subscription-state-secret/#").await?;
            Ok(state.len() == 1
                && state[0].starts_with("refused: ")
                && state[0].contains("not authorized"))
        })
        .await?;
        let refused = browser
            .attr("subscription-secret/#", "data-refused")
            .await?;
        if refused.as_deref() != Some("true") {
            return Err(format!("data-refused is {refused:?}").into());
        }
        Ok(())
    })
    .await;
}
