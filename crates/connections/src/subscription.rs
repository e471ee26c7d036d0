//! A filter a profile subscribes to besides the device topics, with its
//! MQTT 5 options. Stored as a plain string when every option is the
//! default (as every earlier version stored them), else as an object.

use mqtt_client::{QoS, SubscribeFilter};
use mqtt_codec::RetainHandling;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One of the profile's own subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// The topic filter.
    pub filter: String,
    /// 0, 1 or 2.
    pub qos: u8,
    /// MQTT 5: not our own publishes back.
    pub no_local: bool,
    /// MQTT 5: keep the retain flag as published.
    pub retain_as_published: bool,
    /// MQTT 5: retained messages at subscribe (0), only if new (1), never (2).
    pub retain_handling: u8,
}

impl From<&str> for Subscription {
    fn from(filter: &str) -> Self {
        Self::from(filter.to_owned())
    }
}

impl From<String> for Subscription {
    fn from(filter: String) -> Self {
        Self {
            filter,
            ..Self::default()
        }
    }
}

impl From<&SubscribeFilter> for Subscription {
    fn from(f: &SubscribeFilter) -> Self {
        Self {
            filter: f.filter.clone(),
            qos: f.qos as u8,
            no_local: f.no_local,
            retain_as_published: f.retain_as_published,
            retain_handling: f.retain_handling as u8,
        }
    }
}

impl Subscription {
    /// What the supervisor subscribes (assumed checked, see
    /// [`Subscription::problem`]).
    pub fn to_filter(&self) -> SubscribeFilter {
        let mut f = SubscribeFilter::new(
            self.filter.clone(),
            match self.qos {
                1 => QoS::AtLeastOnce,
                2 => QoS::ExactlyOnce,
                _ => QoS::AtMostOnce,
            },
        );
        f.no_local = self.no_local;
        f.retain_as_published = self.retain_as_published;
        f.retain_handling = match self.retain_handling {
            1 => RetainHandling::SendAtSubscribeIfNew,
            2 => RetainHandling::DoNotSend,
            _ => RetainHandling::SendAtSubscribe,
        };
        f
    }

    /// What is wrong with it, in words, if anything.
    pub fn problem(&self) -> Option<String> {
        if !mqtt_codec::is_valid_topic_filter(&self.filter) {
            return Some(format!("\"{}\" is not a valid topic filter", self.filter));
        }
        if self.qos > 2 || self.retain_handling > 2 {
            return Some(format!(
                "the subscription to \"{}\" has a QoS or retain handling above 2",
                self.filter
            ));
        }
        None
    }

    fn is_plain(&self) -> bool {
        *self == Self::from(self.filter.as_str())
    }
}

/// The object form.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct Full {
    filter: String,
    qos: u8,
    no_local: bool,
    retain_as_published: bool,
    retain_handling: u8,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Plain(String),
    Full(Full),
}

impl Serialize for Subscription {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_plain() {
            return serializer.serialize_str(&self.filter);
        }
        Full {
            filter: self.filter.clone(),
            qos: self.qos,
            no_local: self.no_local,
            retain_as_published: self.retain_as_published,
            retain_handling: self.retain_handling,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Plain(filter) => Self::from(filter),
            Stored::Full(f) => Self {
                filter: f.filter,
                qos: f.qos,
                no_local: f.no_local,
                retain_as_published: f.retain_as_published,
                retain_handling: f.retain_handling,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_filters_stay_strings_and_options_make_an_object() {
        let plain = Subscription::from("extra/#");
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#""extra/#""#);
        let full = Subscription {
            qos: 1,
            no_local: true,
            retain_handling: 2,
            ..Subscription::from("alarm/+")
        };
        let text = serde_json::to_string(&full).unwrap();
        assert_eq!(
            text,
            r#"{"filter":"alarm/+","qos":1,"no_local":true,"retain_as_published":false,"retain_handling":2}"#
        );
        let back: Vec<Subscription> =
            serde_json::from_str(&format!(r#"["extra/#",{text}]"#)).unwrap();
        assert_eq!(back, [plain, full.clone()]);
        let filter = full.to_filter();
        assert_eq!(Subscription::from(&filter), full);
        assert!(filter.no_local && filter.retain_handling == RetainHandling::DoNotSend);
    }

    #[test]
    fn problems_are_named() {
        assert!(Subscription::from("a/#/b")
            .problem()
            .unwrap()
            .contains("not a valid"));
        let qos = Subscription {
            qos: 3,
            ..Subscription::from("a")
        };
        assert!(qos.problem().unwrap().contains("QoS"));
        assert!(Subscription::from("a/+").problem().is_none());
    }
}
