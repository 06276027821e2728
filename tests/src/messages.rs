//! Message enums shared by the tests and the peer process.

use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

/// Work for a pool of workers.
#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Work {
    /// mtype 1: handled before anything else by priority receivers.
    Urgent(u32),
    /// mtype 2.
    Job { id: u64, payload: String },
    /// mtype 3.
    #[ipcq(text)]
    Log(String),
    /// mtype 10.
    #[ipcq(mtype = 10)]
    Stop,
}

/// Load-test traffic: two types, so that order can be checked per type.
#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Even sequence numbers.
    Even { producer: u32, seq: u32 },
    /// Odd sequence numbers.
    Odd { producer: u32, seq: u32 },
    /// The end of the traffic, one per consumer.
    End,
}
