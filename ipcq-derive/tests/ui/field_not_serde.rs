use ipcq::QueueMessage;

#[derive(Debug, PartialEq)]
struct Opaque(u32);

#[derive(QueueMessage, Debug, PartialEq)]
enum Cmd {
    Start,
    Job { id: u64, payload: Opaque },
}

fn main() {}
