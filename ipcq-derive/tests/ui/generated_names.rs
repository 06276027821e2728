use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(kind = 5, handler = "not a name")]
enum Cmd {
    #[ipcq(kind = "Other")]
    Start,
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(kind = "Job", handler = "Job")]
enum Job {
    Run,
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(handler = "B", kind = "A", kind = "B")]
enum Task {
    Run,
}

// The Kind given the handler trait's default name.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(kind = "StepHandler")]
enum Step {
    Run,
}

fn main() {}
