use ipcq::QueueMessage;

#[derive(QueueMessage)]
union Cmd {
    id: u64,
    bits: f64,
}

fn main() {}
