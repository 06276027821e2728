// With a renamed crate, a mistake in the enum is reported alone: the items
// emitted in place of the real ones name ipcq by the given path too.
extern crate core as ipcq;
extern crate ipcq as messaging;

use messaging::{MessageKind, QueueMessage};

#[derive(QueueMessage, Debug)]
#[ipcq(crate = "messaging")]
enum Cmd {
    #[ipcq(mtype = 0)]
    Start,
}

fn main() {
    let _ = CmdKind::Start.mtype();
    let _ = <CmdKind as MessageKind>::ALL;
}
