use ipcq::QueueMessage;

#[derive(QueueMessage, Debug)]
#[ipcq(crate = "not a path")]
enum Spaces {
    Start,
}

#[derive(QueueMessage, Debug)]
#[ipcq(crate = ipcq)]
enum NotAString {
    Start,
}

#[derive(QueueMessage, Debug)]
#[ipcq(crate = "ipcq", crate = "ipcq")]
enum Twice {
    Start,
}

#[derive(QueueMessage, Debug)]
enum OnVariant {
    #[ipcq(crate = "ipcq")]
    Start,
}

fn main() {}
