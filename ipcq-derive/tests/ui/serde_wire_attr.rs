use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

mod secs {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(std::time::Duration::from_secs)
    }
}

// Every field is sent, and decoded by its type, whatever serde is told:
// `skip`, `skip_serializing`, `skip_deserializing` and `with`, which say
// otherwise, are errors; attributes that shape other formats only (`rename`,
// `serialize_with`, `skip_serializing_if`, `default`) are not.
#[derive(QueueMessage, Serialize, Deserialize, Debug)]
enum Cmd {
    Login {
        #[serde(rename = "name")]
        user: String,
        #[serde(skip)]
        password: String,
        #[serde(rename = "t", with = "secs")]
        timeout: std::time::Duration,
        #[serde(serialize_with = "secs::serialize")]
        idle: std::time::Duration,
        #[serde(skip_deserializing)]
        is_admin: bool,
        #[serde(default, skip_serializing)]
        token: String,
    },
    #[serde(skip)]
    Internal(u32),
    Tagged(#[serde(skip_serializing_if = "Option::is_none", default)] Option<u8>),
}

fn main() {}
