use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

// `Super` gives `super_` (super cannot be a raw identifier), as does `Super_`.
#[allow(non_camel_case_types)]
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Super,
    Super_,
}

fn main() {}
