#![deny(warnings)]

use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

// A variant's own `allow` or `expect` reaches the Kind variant that repeats
// its name.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[allow(non_camel_case_types)]
    Job_Done,
    #[expect(non_camel_case_types)]
    r#type(u8),
    Ok,
}

fn main() {
    assert_eq!(CmdKind::Job_Done.name(), "Job_Done");
    assert_eq!(CmdKind::r#type.name(), "type");
    assert_eq!(CmdKind::ALL.len(), 3);
}
