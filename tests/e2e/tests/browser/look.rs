//! How the page looks and fits: the demo's fleet on a phone (390 px) and
//! a desktop (1280 px) in light and dark, the connection form folded into
//! one line once connected, nothing wider than the screen, the explorer a
//! drawer on the phone. The screenshots land in `target/e2e/look/` (the
//! README's come from there).

use e2e::{Devsim, Mosquitto, StaticServer};

use crate::harness::*;

const FLEET: [(&str, &str); 6] = [
    ("--tasmota", "kitchen"),
    ("--tasmota", "desk"),
    ("--shelly", "shellyplug-s-7AECF4"),
    ("--z2m", "hall_plug"),
    ("--ha", "kettle"),
    ("--netio", "netio-box:4"),
];

#[tokio::test(flavor = "current_thread")]
async fn the_dashboard_fits_a_phone_and_a_desktop_in_light_and_dark() {
    with_browser("look", async |browser, dir| {
        let broker = Mosquitto::start(&dir.join("mosquitto"))?;
        let _devsim = Devsim::start_fleet(broker.tcp_port, &FLEET)?;
        let server = StaticServer::start(&dist(), 0)?;
        browser.client.set_window_size(1280, 900).await?;
        connect_with_form(browser, &server, &broker, "e2e-look").await?;
        for tile in ["kitchen", "desk", "hall_plug", "netio-box"] {
            wait_until(browser, &format!("the tile {tile}"), || async {
                Ok(!texts(browser, &format!("tile-{tile}")).await?.is_empty())
            })
            .await?;
        }
        browser.click("toggle-kitchen-1").await?;
        wait_for_state(browser, "state-kitchen-1", "ON").await?;

        // Connected, the form is one line.
        wait_until(browser, "the connection bar", || async {
            Ok(!texts(browser, "connection-bar").await?.is_empty())
        })
        .await?;
        let height = js(
            browser,
            "return document.querySelector('form.connect').getBoundingClientRect().height",
        )
        .await?;
        if height.as_f64().unwrap_or(f64::MAX) > 80.0 {
            return Err(format!("the folded form is {height} px high").into());
        }

        let out = e2e::target_dir().join("e2e").join("look");
        std::fs::create_dir_all(&out)?;
        let mut backgrounds = Vec::new();
        // The system's theme is light here; the switch goes dark, then light.
        for (theme, clicks) in [("dark", 1), ("light", 1)] {
            for _ in 0..clicks {
                browser.click("theme-toggle").await?;
            }
            let set = js(browser, "return document.documentElement.dataset.theme || ''").await?;
            if set != theme {
                return Err(format!("the theme switch set {set:?}, expected {theme}").into());
            }
            backgrounds.push(
                js(browser, "return getComputedStyle(document.documentElement).backgroundColor").await?,
            );
            for width in [1280u32, 390] {
                let height = if width == 390 { 844 } else { 900 };
                browser.client.set_window_size(width, height).await?;
                js(browser, "window.scrollTo(0, 0)").await?;
                let overflow = js(
                    browser,
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                )
                .await?;
                if overflow.as_f64().unwrap_or(1.0) > 0.0 {
                    return Err(format!("{width} px wide: {overflow} px too wide").into());
                }
                // Let the page settle into its new width.
                wait_until(browser, "a frame at the new width", || async {
                    Ok(js(browser, "return new Promise(r => requestAnimationFrame(() => r(true)))")
                        .await?
                        .as_bool()
                        == Some(true))
                })
                .await?;
                let png = browser.client.screenshot().await?;
                std::fs::write(out.join(format!("{theme}-{width}.png")), png)?;
            }
        }
        // At 390 px the explorer is a drawer: closed, a bar at the bottom;
        // its title opens it.
        let explorer_height = async || -> Result<f64> {
            Ok(js(
                browser,
                "return document.querySelector('[data-testid=explorer]').getBoundingClientRect().height",
            )
            .await?
            .as_f64()
            .unwrap_or(0.0))
        };
        let closed = explorer_height().await?;
        if closed > 60.0 {
            return Err(format!("the closed drawer is {closed} px high").into());
        }
        browser.click("explorer-drawer").await?;
        wait_until(browser, "the drawer open", || async {
            Ok(explorer_height().await? > closed + 100.0 && !texts(browser, "watch").await?.is_empty())
        })
        .await?;
        let png = browser.client.screenshot().await?;
        std::fs::write(out.join("light-390-explorer.png"), png)?;
        if backgrounds[0] == backgrounds[1] {
            return Err(format!("dark and light look the same: {backgrounds:?}").into());
        }
        Ok(())
    })
    .await;
}
