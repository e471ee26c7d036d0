//! Connection profiles: what the user saved, how it is stored, exported,
//! imported and shared.
//!
//! Stored as one JSON document with a schema number. Reading is tolerant
//! (unknown fields are ignored, missing ones take their defaults), so a
//! format that only grows needs no migration; a change that does is a step
//! in [`Store::from_json`]. A document from a newer version, or one that
//! cannot be read, is an error the caller must keep the original text for:
//! profiles are never silently lost. Passwords are stored only when the
//! user ticks "remember password", and never leave in an export or a link.

use std::fmt;

use mqtt_client::{Bytes, ConnectOptions, LastWill, QoS, SubscribeFilter};
use serde::{Deserialize, Serialize};

use crate::doctor::{check_url, PageContext};
use crate::layout::{
    CustomTile, DeviceTopics, Layout, MAX_CUSTOM_TILES, MAX_LABEL, MAX_LAYOUT_DEVICES,
};
use crate::saved::{SavedPublish, MAX_SAVED_PUBLISHES};
use crate::subscription::Subscription;
use crate::supervisor::{Settings, VersionChoice};

/// The schema this version writes.
pub const SCHEMA: u32 = 1;

/// Profiles a store keeps at most (an import cannot grow it without bound).
pub const MAX_PROFILES: usize = 100;

/// Largest document accepted from an import or a link, in bytes.
pub const MAX_DOCUMENT: usize = 256 * 1024;

/// One saved connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Stable key, unique in a store.
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// The broker's WebSocket URL.
    pub url: String,
    /// MQTT client id; empty asks an MQTT 5 broker to assign one.
    pub client_id: String,
    /// User name, if any.
    pub username: String,
    /// Kept only when `remember_password` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Whether to store the password.
    pub remember_password: bool,
    /// Keep-alive in seconds (0: off).
    pub keep_alive_secs: u16,
    /// Start without a stored session.
    pub clean_start: bool,
    /// MQTT 5: how long the broker keeps the session, in seconds.
    pub session_expiry_secs: Option<u32>,
    /// Which MQTT version to speak.
    pub version: Version,
    /// Published by the broker if the page vanishes.
    pub will: Option<Will>,
    /// Filters to subscribe to besides the device topics, with their
    /// options.
    pub subscriptions: Vec<Subscription>,
    /// How the user arranged this broker's devices.
    pub layout: Layout,
    /// Tiles the user made for devices no adapter knows.
    pub custom_tiles: Vec<CustomTile>,
    /// Device topics this installation changed from the defaults.
    pub device_topics: DeviceTopics,
    /// Publishes saved as one-click buttons.
    pub saved_publishes: Vec<SavedPublish>,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            url: String::new(),
            client_id: String::new(),
            username: String::new(),
            password: None,
            remember_password: false,
            keep_alive_secs: 30,
            clean_start: true,
            session_expiry_secs: None,
            version: Version::Auto,
            will: None,
            subscriptions: Vec::new(),
            layout: Layout::default(),
            custom_tiles: Vec::new(),
            device_topics: DeviceTopics::default(),
            saved_publishes: Vec::new(),
        }
    }
}

/// The MQTT version, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Version {
    /// 5.0, else 3.1.1.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// 5.0 only.
    #[serde(rename = "5.0")]
    V5,
    /// 3.1.1 only.
    #[serde(rename = "3.1.1")]
    V311,
}

/// A last will, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Will {
    /// Its topic.
    pub topic: String,
    /// Its payload, as text.
    pub payload: String,
    /// 0, 1 or 2.
    pub qos: u8,
    /// Published retained.
    pub retain: bool,
}

/// Why a document or a profile was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not JSON of the expected shape; the text says where.
    Unreadable(String),
    /// Written by a newer version of the app.
    NewerSchema(u32),
    /// Larger than [`MAX_DOCUMENT`].
    TooLarge(usize),
    /// A profile that cannot be used; the text says why.
    Invalid {
        /// The profile's name (or its position).
        profile: String,
        /// Why.
        reason: String,
    },
    /// The store already holds [`MAX_PROFILES`].
    Full,
    /// A share link that is not one.
    BadLink,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(why) => write!(f, "not a Plugboard profiles file: {why}"),
            Self::NewerSchema(n) => write!(
                f,
                "saved by a newer Plugboard (schema {n}, this one reads up to {SCHEMA}); kept \
                 untouched"
            ),
            Self::TooLarge(n) => write!(f, "{n} bytes is too large for a profiles file"),
            Self::Invalid { profile, reason } => write!(f, "profile \"{profile}\": {reason}"),
            Self::Full => write!(f, "at most {MAX_PROFILES} profiles can be saved"),
            Self::BadLink => f.write_str("this link does not carry a connection profile"),
        }
    }
}

impl std::error::Error for ProfileError {}

impl Profile {
    /// Checks what can be checked before connecting.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |reason: String| ProfileError::Invalid {
            profile: self.name.clone(),
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("it has no name".into()));
        }
        check_url(&self.url, PageContext::default()).map_err(|d| invalid(d.message))?;
        if let Some(will) = &self.will {
            if !mqtt_codec::is_valid_topic_name(&will.topic) {
                return Err(invalid(format!(
                    "\"{}\" is not a valid will topic",
                    will.topic
                )));
            }
            if will.qos > 2 {
                return Err(invalid("the will's QoS must be 0, 1 or 2".into()));
            }
        }
        if let Some(problem) = self.subscriptions.iter().find_map(Subscription::problem) {
            return Err(invalid(problem));
        }
        if !self.device_topics.usable() {
            return Err(invalid(
                "a device topic (Tasmota group, Zigbee2MQTT base, Home Assistant prefix, \
                 NETIO prefix) is empty or has a wildcard or an empty level"
                    .into(),
            ));
        }
        if self.custom_tiles.len() > MAX_CUSTOM_TILES {
            return Err(invalid(format!(
                "it has more than {MAX_CUSTOM_TILES} custom tiles"
            )));
        }
        for tile in &self.custom_tiles {
            tile.check()
                .map_err(|e| invalid(format!("custom tile \"{}\": {e}", tile.name)))?;
        }
        if self.saved_publishes.len() > MAX_SAVED_PUBLISHES {
            return Err(invalid(format!(
                "it has more than {MAX_SAVED_PUBLISHES} saved publishes"
            )));
        }
        for saved in &self.saved_publishes {
            saved
                .check()
                .map_err(|e| invalid(format!("saved publish \"{}\": {e}", saved.name)))?;
        }
        if self.layout.devices.len() > MAX_LAYOUT_DEVICES {
            return Err(invalid(format!(
                "its layout arranges more than {MAX_LAYOUT_DEVICES} devices"
            )));
        }
        let long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.chars().count() > MAX_LABEL);
        if self
            .layout
            .devices
            .iter()
            .any(|d| long(&d.name) || long(&d.group) || d.key.len() > 256 || d.protected.len() > 64)
        {
            return Err(invalid(format!(
                "its layout has a name longer than {MAX_LABEL} characters"
            )));
        }
        Ok(())
    }

    /// What the supervisor needs to connect as this profile says, with the
    /// device topics `device_filters` subscribed besides its own.
    pub fn settings(
        &self,
        device_filters: &[String],
        page: PageContext,
        jitter_seed: u64,
    ) -> Settings {
        let mut options = ConnectOptions::new(self.client_id.trim());
        options.keep_alive_secs = self.keep_alive_secs;
        options.clean_start = self.clean_start;
        options.session_expiry_secs = self.session_expiry_secs;
        options.jitter_seed = jitter_seed;
        options.reconnect = Some(mqtt_client::Backoff {
            initial_ms: 500,
            max_ms: 10_000,
            stable_ms: 10_000,
        });
        let username = self.username.trim();
        if !username.is_empty() {
            options.username = Some(username.to_owned());
            if let Some(password) = self.password.as_ref().filter(|p| !p.is_empty()) {
                options.password = Some(Bytes::from(password.clone().into_bytes()));
            }
        }
        options.will = self.will.as_ref().map(|w| {
            let mut will = LastWill::new(w.topic.clone(), w.payload.clone().into_bytes(), w.retain);
            will.qos = match w.qos {
                0 => QoS::AtMostOnce,
                1 => QoS::AtLeastOnce,
                _ => QoS::ExactlyOnce,
            };
            will
        });
        let mut subscriptions: Vec<SubscribeFilter> = device_filters
            .iter()
            .map(|f| SubscribeFilter::new(f.clone(), QoS::AtMostOnce))
            .collect();
        for extra in &self.subscriptions {
            if !subscriptions.iter().any(|s| s.filter == extra.filter) {
                subscriptions.push(extra.to_filter());
            }
        }
        Settings {
            url: self.url.trim().to_owned(),
            options,
            version: match self.version {
                Version::Auto => VersionChoice::Auto,
                Version::V5 => VersionChoice::V5,
                Version::V311 => VersionChoice::V311,
            },
            subscriptions,
            page,
        }
    }

    /// The profile without its secrets, for exports and links.
    pub fn without_secrets(&self) -> Self {
        Self {
            password: None,
            remember_password: false,
            ..self.clone()
        }
    }

    /// The profile as storage keeps it: the password only if asked.
    fn for_storage(&self) -> Self {
        if self.remember_password {
            self.clone()
        } else {
            Self {
                password: None,
                ..self.clone()
            }
        }
    }
}

/// The saved profiles, in the user's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Store {
    profiles: Vec<Profile>,
}

#[derive(Serialize, Deserialize)]
struct Document {
    schema: u32,
    #[serde(default)]
    profiles: Vec<Profile>,
}

impl Store {
    /// No profiles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a stored document (see the module doc for what is tolerated).
    pub fn from_json(text: &str) -> Result<Self, ProfileError> {
        let profiles = read_document(text)?;
        let mut store = Self::new();
        for profile in profiles {
            // Stored profiles are kept even if they no longer validate: the
            // user can fix them; only duplicates of an id are merged. The
            // document was within the limits, so this is too.
            let _ = store.upsert(profile);
        }
        Ok(store)
    }

    /// The document to store: passwords only where remembered.
    pub fn to_json(&self) -> String {
        document(self.profiles.iter().map(Profile::for_storage))
    }

    /// The document to export: no passwords at all.
    pub fn export(&self) -> String {
        document(self.profiles.iter().map(Profile::without_secrets))
    }

    /// Adds the profiles of an exported document (or of a single profile's
    /// JSON). Each must validate; ids already present get new ones, names
    /// already present get a number. Returns how many were added.
    pub fn import(
        &mut self,
        text: &str,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<usize, ProfileError> {
        let trimmed = text.trim_start();
        let profiles = if trimmed.starts_with('{') && !trimmed.contains("\"schema\"") {
            vec![serde_json::from_str::<Profile>(text)
                .map_err(|e| ProfileError::Unreadable(e.to_string()))?]
        } else {
            read_document(text)?
        };
        for (i, p) in profiles.iter().enumerate() {
            p.validate().map_err(|e| match e {
                ProfileError::Invalid { reason, profile } if profile.trim().is_empty() => {
                    ProfileError::Invalid {
                        profile: format!("#{}", i + 1),
                        reason,
                    }
                }
                other => other,
            })?;
        }
        if self.profiles.len() + profiles.len() > MAX_PROFILES {
            return Err(ProfileError::Full);
        }
        let added = profiles.len();
        let before = self.profiles.clone();
        for mut profile in profiles {
            if profile.id.is_empty() || self.get(&profile.id).is_some() {
                profile.id = new_id();
            }
            profile.name = self.unique_name(&profile.name);
            profile.password = None;
            profile.remember_password = false;
            self.profiles.push(profile);
        }
        let size = self.to_json().len();
        if size > MAX_DOCUMENT {
            self.profiles = before;
            return Err(ProfileError::TooLarge(size));
        }
        Ok(added)
    }

    /// All profiles, in order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// One profile.
    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// The first profile for this broker URL.
    pub fn find_url(&self, url: &str) -> Option<&Profile> {
        let url = url.trim();
        self.profiles.iter().find(|p| p.url.trim() == url)
    }

    /// Adds a profile, or replaces the one with its id. Refuses what the
    /// store could not read back: more than [`MAX_PROFILES`], or a document
    /// larger than [`MAX_DOCUMENT`].
    pub fn upsert(&mut self, profile: Profile) -> Result<(), ProfileError> {
        let before = self.profiles.clone();
        let len = self.profiles.len();
        match self.profiles.iter_mut().find(|p| p.id == profile.id) {
            Some(slot) => *slot = profile,
            None if len >= MAX_PROFILES => return Err(ProfileError::Full),
            None => self.profiles.push(profile),
        }
        let size = self.to_json().len();
        if size > MAX_DOCUMENT {
            self.profiles = before;
            return Err(ProfileError::TooLarge(size));
        }
        Ok(())
    }

    /// Removes a profile.
    pub fn remove(&mut self, id: &str) {
        self.profiles.retain(|p| p.id != id);
    }

    fn unique_name(&self, name: &str) -> String {
        let taken = |n: &str| self.profiles.iter().any(|p| p.name == n);
        if !taken(name) {
            return name.to_owned();
        }
        (2..)
            .map(|i| format!("{name} ({i})"))
            .find(|n| !taken(n))
            .expect("some number is free")
    }
}

fn document(profiles: impl Iterator<Item = Profile>) -> String {
    let doc = Document {
        schema: SCHEMA,
        profiles: profiles.collect(),
    };
    serde_json::to_string_pretty(&doc).expect("profiles serialize")
}

fn read_document(text: &str) -> Result<Vec<Profile>, ProfileError> {
    if text.len() > MAX_DOCUMENT {
        return Err(ProfileError::TooLarge(text.len()));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ProfileError::Unreadable(e.to_string()))?;
    let schema = value
        .get("schema")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ProfileError::Unreadable("no \"schema\" number".into()))?;
    let schema = u32::try_from(schema).unwrap_or(u32::MAX);
    if schema > SCHEMA {
        return Err(ProfileError::NewerSchema(schema));
    }
    // Schema 1 is the first; later schemas add their migration steps here,
    // oldest first, each turning the value into the next schema's shape.
    let doc: Document =
        serde_json::from_value(value).map_err(|e| ProfileError::Unreadable(e.to_string()))?;
    if doc.profiles.len() > MAX_PROFILES {
        return Err(ProfileError::Full);
    }
    Ok(doc.profiles)
}

/// A share link's fragment for `profile`: `profile=` and its JSON, without
/// secrets, in URL-safe base64.
pub fn share_fragment(profile: &Profile) -> String {
    let json = serde_json::to_string(&profile.without_secrets()).expect("a profile serializes");
    format!("profile={}", base64url_encode(json.as_bytes()))
}

/// The profile a share link's fragment carries (with or without the `#`).
pub fn from_share_fragment(fragment: &str) -> Result<Profile, ProfileError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let data = fragment
        .split('&')
        .find_map(|part| part.strip_prefix("profile="))
        .ok_or(ProfileError::BadLink)?;
    if data.len() > MAX_DOCUMENT {
        return Err(ProfileError::TooLarge(data.len()));
    }
    let bytes = base64url_decode(data).ok_or(ProfileError::BadLink)?;
    let profile: Profile =
        serde_json::from_slice(&bytes).map_err(|e| ProfileError::Unreadable(e.to_string()))?;
    let profile = profile.without_secrets();
    profile.validate()?;
    Ok(profile)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut n, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        n = n << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> Profile {
        Profile {
            id: format!("id-{name}"),
            name: name.into(),
            url: "ws://127.0.0.1:9001/".into(),
            client_id: "panel".into(),
            username: "ann".into(),
            password: Some("secret".into()),
            ..Profile::default()
        }
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url_encode(&bytes);
            assert!(!text.contains(['+', '/', '=']));
            assert_eq!(base64url_decode(&text).unwrap(), bytes);
        }
        assert_eq!(base64url_encode(b"Man"), "TWFu");
        assert_eq!(base64url_decode("TWE").unwrap(), b"Ma");
        assert_eq!(base64url_decode("T#"), None);
    }

    #[test]
    fn a_password_is_stored_only_when_remembered() {
        let mut store = Store::new();
        store.upsert(profile("a")).unwrap();
        assert!(!store.to_json().contains("secret"));
        let mut remembered = profile("b");
        remembered.remember_password = true;
        store.upsert(remembered).unwrap();
        let json = store.to_json();
        assert_eq!(json.matches("secret").count(), 1, "{json}");
        let back = Store::from_json(&json).unwrap();
        assert_eq!(
            back.get("id-b").unwrap().password.as_deref(),
            Some("secret")
        );
        assert_eq!(back.get("id-a").unwrap().password, None);
    }

    #[test]
    fn exports_and_links_never_carry_a_password() {
        let mut store = Store::new();
        let mut p = profile("a");
        p.remember_password = true;
        store.upsert(p.clone()).unwrap();
        assert!(!store.export().contains("secret"));
        let fragment = share_fragment(&p);
        let back = from_share_fragment(&format!("#{fragment}")).unwrap();
        assert_eq!(back.password, None);
        assert_eq!(back.url, p.url);
        assert_eq!(back.username, "ann");
    }

    #[test]
    fn missing_fields_take_defaults_and_unknown_ones_are_ignored() {
        let text =
            r#"{"schema":1,"profiles":[{"id":"x","name":"old","url":"ws://h:1/","future":7}]}"#;
        let store = Store::from_json(text).unwrap();
        let p = store.get("x").unwrap();
        assert_eq!(p.keep_alive_secs, 30);
        assert!(p.clean_start);
        assert_eq!(p.version, Version::Auto);
    }

    #[test]
    fn a_newer_schema_is_refused_not_overwritten() {
        let err = Store::from_json(r#"{"schema":2,"profiles":[]}"#).unwrap_err();
        assert_eq!(err, ProfileError::NewerSchema(2));
        assert!(err.to_string().contains("kept untouched"));
    }

    #[test]
    fn unreadable_documents_are_typed_errors() {
        for text in [
            "",
            "[]",
            "{\"profiles\":[]}",
            "{\"schema\":1,\"profiles\":7}",
            "<html>",
        ] {
            assert!(
                matches!(Store::from_json(text), Err(ProfileError::Unreadable(_))),
                "{text}"
            );
        }
        let huge = format!("{{\"schema\":1,\"x\":\"{}\"}}", "a".repeat(MAX_DOCUMENT));
        assert!(matches!(
            Store::from_json(&huge),
            Err(ProfileError::TooLarge(_))
        ));
    }

    #[test]
    fn import_adds_with_fresh_ids_and_unique_names() {
        let mut store = Store::new();
        store.upsert(profile("home")).unwrap();
        let exported = store.export();
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("new-{n}")
        };
        assert_eq!(store.import(&exported, &mut new_id), Ok(1));
        let names: Vec<_> = store.profiles().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["home", "home (2)"]);
        assert_eq!(store.profiles()[1].id, "new-1");
        // A single profile's JSON imports too.
        let one = serde_json::to_string(&profile("lab")).unwrap();
        assert_eq!(store.import(&one, &mut new_id), Ok(1));
        assert_eq!(
            store.profiles()[2].password,
            None,
            "imports carry no password"
        );
    }

    #[test]
    fn import_refuses_an_invalid_profile_with_its_name() {
        let mut store = Store::new();
        let mut bad = profile("tcp");
        bad.url = "mqtt://h:1883".into();
        let text = document([bad].into_iter());
        let err = store.import(&text, &mut || "n".into()).unwrap_err();
        assert!(err.to_string().contains("profile \"tcp\""), "{err}");
        assert!(store.profiles().is_empty());
        let mut bad = profile("f");
        bad.subscriptions = vec!["a/#/b".into()];
        assert!(store
            .import(&document([bad].into_iter()), &mut || "n".into())
            .is_err());
    }

    #[test]
    fn settings_carry_the_profile() {
        let mut p = profile("a");
        p.version = Version::V311;
        p.clean_start = false;
        p.session_expiry_secs = Some(3600);
        p.subscriptions = vec![
            Subscription {
                qos: 1,
                no_local: true,
                .."extra/#".into()
            },
            "stat/+/+".into(),
        ];
        p.will = Some(Will {
            topic: "panel/status".into(),
            payload: "gone".into(),
            qos: 1,
            retain: true,
        });
        let devices = ["tele/+/LWT".to_owned(), "stat/+/+".to_owned()];
        let s = p.settings(&devices, PageContext::default(), 5);
        assert_eq!(s.version, VersionChoice::V311);
        assert!(!s.options.clean_start);
        assert_eq!(s.options.session_expiry_secs, Some(3600));
        assert_eq!(s.options.password.as_deref(), Some(&b"secret"[..]));
        let filters: Vec<_> = s.subscriptions.iter().map(|f| f.filter.as_str()).collect();
        assert_eq!(filters, ["tele/+/LWT", "stat/+/+", "extra/#"]);
        let extra = &s.subscriptions[2];
        assert!(
            extra.qos == QoS::AtLeastOnce && extra.no_local,
            "options kept: {extra:?}"
        );
        let will = s.options.will.unwrap();
        assert_eq!(
            (will.topic.as_str(), will.qos, will.retain),
            ("panel/status", QoS::AtLeastOnce, true)
        );
    }

    /// Review finding: saving past the limits made the whole store
    /// unreadable on the next load.
    #[test]
    fn the_store_never_grows_past_what_it_can_read_back() {
        let mut store = Store::new();
        for i in 0..MAX_PROFILES {
            store.upsert(profile(&format!("p{i}"))).unwrap();
        }
        assert_eq!(store.upsert(profile("one-more")), Err(ProfileError::Full));
        assert!(Store::from_json(&store.to_json()).is_ok());
        let mut big = profile("p0");
        big.subscriptions = vec!["x".repeat(MAX_DOCUMENT).into()];
        assert!(matches!(store.upsert(big), Err(ProfileError::TooLarge(_))));
        assert_eq!(
            store.get("id-p0").unwrap().subscriptions.len(),
            0,
            "left as it was"
        );
        assert!(Store::from_json(&store.to_json()).is_ok());
    }

    #[test]
    fn a_link_that_is_not_one_says_so() {
        assert_eq!(from_share_fragment("#x=1"), Err(ProfileError::BadLink));
        assert_eq!(
            from_share_fragment("profile=%%%"),
            Err(ProfileError::BadLink)
        );
        assert!(matches!(
            from_share_fragment(&format!("profile={}", base64url_encode(b"{\"name\":1}"))),
            Err(ProfileError::Unreadable(_))
        ));
    }
}
