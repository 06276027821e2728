//! One end of a connection between the two processes, for each transport
//! measured, behind one trait so that every benchmark loop is the same code.
//!
//! The parent sends "down" and receives "up"; the child the other way round.
//! On a System V queue both directions share the queue: up is mtype 1, down
//! mtype 2, the end of a stream mtype 3. A streaming receiver takes any
//! message (`msgtyp` 0, [`Recv::Any`]); a ping-pong receiver only its own
//! direction ([`Recv::Own`]).

use std::error::Error as StdError;
use std::io::{self, BufReader, Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ipc_channel::ipc::{self, IpcOneShotServer, IpcReceiver, IpcSender};
use ipcq::{Bincode, Codec, Key, MsgBuffer, MsgQueue, Postcard, QueueId, Selector, TypedQueue};
use nix::mqueue::{MQ_OFlag, MqAttr, MqdT, mq_close, mq_open, mq_receive, mq_send};
use nix::sys::resource::{Resource, getrlimit};
use nix::sys::stat::Mode;

use crate::cleanup::Guard;
use crate::payload::{BenchMsg, Bytes, Msg16, Msg256, Msg4096, Rec16, Rec256, Rec4096, VecMsg};
use crate::raw::{self, RawMsg, RecvBuf};

pub(crate) type Res<T> = Result<T, Box<dyn StdError + Send + Sync>>;

/// The transports measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `msgsnd`/`msgrcv` through libc.
    Raw,
    /// `msgsnd`/`msgrcv` through libc, sending as many bytes as `Typed`
    /// puts on the queue for the same payload (its header and the payload's
    /// length prefix included).
    RawTypedSize,
    /// ipcq's byte queue, `MsgQueue::send` and `recv_into`.
    Bytes,
    /// ipcq's `TypedQueue` with a `Bytes<N>` payload.
    Typed,
    /// `Typed` on handles that spin for [`SPIN`] before they sleep
    /// (`TypedQueue::with_spin`).
    TypedSpin,
    /// `TypedQueue` with a `Vec<u8>` payload.
    TypedVec,
    /// `TypedQueue<_, Postcard>` with a `Bytes<N>` payload: the codec a
    /// queue moving off bincode takes.
    TypedPostcard,
    /// `TypedQueue` with a `#[ipcq(bytes)]` `[u8; N]` payload: no header,
    /// no length prefix.
    TypedRecord,
    /// `TypedQueue::send_batch` to send, `recv` to receive.
    TypedBatch,
    /// ipc-channel's `IpcSender`/`IpcReceiver` of `Bytes<N>`.
    IpcChannel,
    /// POSIX message queues, bincode-encoded `Bytes<N>`.
    PosixMq,
    /// A Unix stream socket, length-prefixed bincode-encoded `Bytes<N>`.
    Uds,
}

impl Transport {
    pub(crate) const ALL: [Transport; 12] = [
        Transport::Raw,
        Transport::RawTypedSize,
        Transport::Bytes,
        Transport::Typed,
        Transport::TypedSpin,
        Transport::TypedVec,
        Transport::TypedPostcard,
        Transport::TypedRecord,
        Transport::TypedBatch,
        Transport::IpcChannel,
        Transport::PosixMq,
        Transport::Uds,
    ];

    /// The short name used on the command line and in the JSON.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Transport::Raw => "raw",
            Transport::RawTypedSize => "raw-typed-size",
            Transport::Bytes => "ipcq-bytes",
            Transport::Typed => "ipcq-typed",
            Transport::TypedSpin => "ipcq-typed-spin",
            Transport::TypedVec => "ipcq-typed-vec",
            Transport::TypedPostcard => "ipcq-typed-postcard",
            Transport::TypedRecord => "ipcq-typed-record",
            Transport::TypedBatch => "ipcq-typed-batch",
            Transport::IpcChannel => "ipc-channel",
            Transport::PosixMq => "posix-mq",
            Transport::Uds => "unix-socket",
        }
    }

    /// What the table calls it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::Raw => "raw msgsnd/msgrcv (libc)",
            Transport::RawTypedSize => "raw, TypedQueue's body size",
            Transport::Bytes => "ipcq MsgQueue",
            Transport::Typed => "ipcq TypedQueue, Bytes<N>",
            Transport::TypedSpin => "ipcq TypedQueue, Bytes<N>, 50 us spin",
            Transport::TypedVec => "ipcq TypedQueue, Vec<u8>",
            Transport::TypedPostcard => "ipcq TypedQueue<_, Postcard>, Bytes<N>",
            Transport::TypedRecord => "ipcq TypedQueue, #[ipcq(bytes)] [u8; N]",
            Transport::TypedBatch => "ipcq TypedQueue send_batch",
            Transport::IpcChannel => "ipc-channel 0.23",
            Transport::PosixMq => "POSIX mq (nix)",
            Transport::Uds => "Unix socket + bincode",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.id() == id)
    }

    fn is_sysv(self) -> bool {
        matches!(
            self,
            Transport::Raw
                | Transport::RawTypedSize
                | Transport::Bytes
                | Transport::Typed
                | Transport::TypedSpin
                | Transport::TypedVec
                | Transport::TypedPostcard
                | Transport::TypedRecord
                | Transport::TypedBatch
        )
    }
}

/// Which process an endpoint is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Parent,
    Child,
}

/// How long the handles of [`Transport::TypedSpin`] spin before they sleep:
/// longer than a wake-up of the other CPU takes on the benchmarks' host.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

const UP: i64 = 1;
const DOWN: i64 = 2;
const STOP: i64 = 3;

impl Side {
    fn send_mtype(self) -> i64 {
        match self {
            Side::Parent => DOWN,
            Side::Child => UP,
        }
    }

    fn recv_mtype(self) -> i64 {
        match self {
            Side::Parent => UP,
            Side::Child => DOWN,
        }
    }
}

/// What a receive on a shared System V queue selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// The oldest message of any type, as a plain consumer receives.
    Any,
    /// Only messages of this side's direction, as ping-pong needs.
    Own,
}

/// One end of a connection that moves N-byte payloads.
pub(crate) trait Endpoint {
    /// Sends a payload whose first byte is `seq as u8`.
    fn send(&mut self, seq: u64) -> Res<()>;

    /// Sends payloads numbered `first..first + count`.
    fn send_many(&mut self, first: u64, count: u64) -> Res<()> {
        for seq in first..first + count {
            self.send(seq)?;
        }
        Ok(())
    }

    /// Sends the end of a stream.
    fn send_stop(&mut self) -> Res<()> {
        Err("this transport has no stop message".into())
    }

    /// Receives a payload's first byte, or `None` for the end of a stream.
    fn recv(&mut self) -> Res<Option<u8>>;
}

/// A parent's end being set up: the ticket tells the child how to reach it,
/// and `connect` finishes once the child has been started.
pub(crate) struct Prepared {
    pub(crate) ticket: String,
    pub(crate) guards: Vec<Guard>,
    pub(crate) connect: Box<dyn FnOnce() -> Res<Box<dyn Endpoint>>>,
}

/// Sets up the parent's end of a connection.
pub(crate) fn prepare<const N: usize>(transport: Transport, recv: Recv) -> Res<Prepared> {
    if transport.is_sysv() {
        let q = MsgQueue::options().create_new(true).open(Key::private())?;
        let id = q.id().get();
        let guards = vec![Guard::sysv(id)];
        return Ok(Prepared {
            ticket: id.to_string(),
            guards,
            connect: Box::new(move || open_sysv::<N>(transport, q, Side::Parent, recv)),
        });
    }
    let name = unique_name();
    match transport {
        Transport::PosixMq => {
            let (up, down) = (format!("{name}-up"), format!("{name}-down"));
            let up_q = create_mq::<N>(&up)?;
            let mut guards = vec![Guard::mq(&up)];
            let down_q = create_mq::<N>(&down)?;
            guards.push(Guard::mq(&down));
            Ok(Prepared {
                ticket: name,
                guards,
                connect: Box::new(move || {
                    Ok(Box::new(MqEp::<N>::new(down_q, up_q)) as Box<dyn Endpoint>)
                }),
            })
        }
        Transport::Uds => {
            let listener = UnixListener::bind_addr(&SocketAddr::from_abstract_name(&name)?)?;
            Ok(Prepared {
                ticket: name,
                guards: Vec::new(),
                connect: Box::new(move || {
                    let (stream, _) = listener.accept()?;
                    Ok(Box::new(UdsEp::<N>::new(stream)?) as Box<dyn Endpoint>)
                }),
            })
        }
        Transport::IpcChannel => {
            let (server, ticket) = IpcOneShotServer::<Bootstrap<N>>::new()?;
            Ok(Prepared {
                ticket,
                guards: Vec::new(),
                connect: Box::new(move || {
                    let (_, (rx, tx)) = server.accept()?;
                    Ok(Box::new(IpcEp::<N>::new(tx, rx)) as Box<dyn Endpoint>)
                }),
            })
        }
        _ => unreachable!("System V transports are handled above"),
    }
}

/// Opens the child's end from the parent's ticket.
pub(crate) fn open_child<const N: usize>(
    transport: Transport,
    ticket: &str,
    recv: Recv,
) -> Res<Box<dyn Endpoint>> {
    if transport.is_sysv() {
        let q = MsgQueue::open_id(ticket.parse::<QueueId>()?)?;
        return open_sysv::<N>(transport, q, Side::Child, recv);
    }
    match transport {
        Transport::PosixMq => {
            let open = |name: String| mq_open(name.as_str(), MQ_OFlag::O_RDWR, Mode::empty(), None);
            let up = open(format!("{ticket}-up"))?;
            let down = open(format!("{ticket}-down"))?;
            Ok(Box::new(MqEp::<N>::new(up, down)))
        }
        Transport::Uds => {
            let stream = UnixStream::connect_addr(&SocketAddr::from_abstract_name(ticket)?)?;
            Ok(Box::new(UdsEp::<N>::new(stream)?))
        }
        Transport::IpcChannel => {
            let (up_tx, up_rx) = ipc::channel::<Bytes<N>>()?;
            let (down_tx, down_rx) = ipc::channel::<Bytes<N>>()?;
            IpcSender::<Bootstrap<N>>::connect(ticket.to_owned())?.send((up_rx, down_tx))?;
            Ok(Box::new(IpcEp::<N>::new(up_tx, down_rx)))
        }
        _ => unreachable!("System V transports are handled above"),
    }
}

fn open_sysv<const N: usize>(
    transport: Transport,
    q: MsgQueue,
    side: Side,
    recv: Recv,
) -> Res<Box<dyn Endpoint>> {
    Ok(match (transport, N) {
        (Transport::Raw, _) => Box::new(RawEp::<N>::new(q.id().get(), side, recv, N)),
        (Transport::RawTypedSize, _) => Box::new(RawEp::<N>::new(
            q.id().get(),
            side,
            recv,
            crate::payload::typed_body_len(N)?,
        )),
        (Transport::Bytes, _) => Box::new(BytesEp::<N>::new(q, side, recv)),
        (Transport::TypedVec, _) => Box::new(VecEp::new(q, side, recv, N)),
        (Transport::Typed | Transport::TypedSpin | Transport::TypedBatch, _) => {
            let batch = transport == Transport::TypedBatch;
            let q = match transport {
                Transport::TypedSpin => q.with_spin(SPIN),
                _ => q,
            };
            match N {
                16 => Box::new(TypedEp::<16, Msg16>::new(q, side, recv, batch)),
                256 => Box::new(TypedEp::<256, Msg256>::new(q, side, recv, batch)),
                4096 => Box::new(TypedEp::<4096, Msg4096>::new(q, side, recv, batch)),
                n => return Err(format!("no typed message with a {n}-byte payload").into()),
            }
        }
        (Transport::TypedPostcard, _) => match N {
            16 => Box::new(TypedEp::<16, Msg16, Postcard>::new(q, side, recv, false)),
            256 => Box::new(TypedEp::<256, Msg256, Postcard>::new(q, side, recv, false)),
            4096 => Box::new(TypedEp::<4096, Msg4096, Postcard>::new(
                q, side, recv, false,
            )),
            n => return Err(format!("no typed message with a {n}-byte payload").into()),
        },
        (Transport::TypedRecord, _) => match N {
            16 => Box::new(TypedEp::<16, Rec16>::new(q, side, recv, false)),
            256 => Box::new(TypedEp::<256, Rec256>::new(q, side, recv, false)),
            4096 => Box::new(TypedEp::<4096, Rec4096>::new(q, side, recv, false)),
            n => return Err(format!("no record message with a {n}-byte payload").into()),
        },
        (t, n) => return Err(format!("no {} endpoint for {n}-byte payloads", t.id()).into()),
    })
}

fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "/ipcq-bench-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

// ---- raw msgsnd/msgrcv ----

/// Sends N-byte payloads as `len`-byte texts: `len` is N for [`Transport::Raw`],
/// and N plus TypedQueue's framing for [`Transport::RawTypedSize`] (the text
/// then comes from a buffer of msgmax bytes).
enum RawText<const N: usize> {
    Exact(Box<RawMsg<N>>),
    Longer(Box<RecvBuf>, usize),
}

struct RawEp<const N: usize> {
    id: i32,
    msgtyp: libc::c_long,
    msg: RawText<N>,
    buf: Box<RecvBuf>,
}

impl<const N: usize> RawEp<N> {
    fn new(id: i32, side: Side, recv: Recv, len: usize) -> Self {
        let msg = if len == N {
            RawText::Exact(Box::new(RawMsg {
                mtype: side.send_mtype(),
                text: Bytes::<N>::numbered(0).0,
            }))
        } else {
            let mut msg = raw::recv_buf();
            msg.mtype = side.send_mtype();
            msg.text[..len].fill(0xA5);
            RawText::Longer(msg, len)
        };
        RawEp {
            id,
            msgtyp: match recv {
                Recv::Any => 0,
                Recv::Own => side.recv_mtype(),
            },
            msg,
            buf: raw::recv_buf(),
        }
    }
}

impl<const N: usize> Endpoint for RawEp<N> {
    fn send(&mut self, seq: u64) -> Res<()> {
        match &mut self.msg {
            RawText::Exact(msg) => {
                msg.text[0] = seq as u8;
                Ok(raw::send(self.id, msg)?)
            }
            RawText::Longer(msg, len) => {
                msg.text[0] = seq as u8;
                Ok(raw::send_first(self.id, msg, *len)?)
            }
        }
    }

    fn send_stop(&mut self) -> Res<()> {
        let stop = RawMsg::<0> {
            mtype: STOP,
            text: [],
        };
        Ok(raw::send(self.id, &stop)?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        raw::recv(self.id, &mut self.buf, self.msgtyp)?;
        Ok((self.buf.mtype != STOP).then_some(self.buf.text[0]))
    }
}

// ---- ipcq MsgQueue ----

struct BytesEp<const N: usize> {
    q: MsgQueue,
    mtype: i64,
    selector: Selector,
    payload: [u8; N],
    buf: MsgBuffer,
}

impl<const N: usize> BytesEp<N> {
    fn new(q: MsgQueue, side: Side, recv: Recv) -> Self {
        BytesEp {
            q,
            mtype: side.send_mtype(),
            selector: match recv {
                Recv::Any => Selector::Any,
                Recv::Own => Selector::Type(side.recv_mtype()),
            },
            payload: Bytes::<N>::numbered(0).0,
            buf: MsgBuffer::new(),
        }
    }
}

impl<const N: usize> Endpoint for BytesEp<N> {
    fn send(&mut self, seq: u64) -> Res<()> {
        self.payload[0] = seq as u8;
        Ok(self.q.send(self.mtype, &self.payload)?)
    }

    fn send_stop(&mut self) -> Res<()> {
        Ok(self.q.send(STOP, &[])?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        self.q.recv_into(self.selector, &mut self.buf)?;
        Ok((self.buf.mtype() != STOP).then(|| self.buf.body()[0]))
    }
}

// ---- ipcq TypedQueue ----

struct TypedEp<const N: usize, M: BenchMsg<N>, C = Bincode> {
    q: TypedQueue<M, C>,
    /// The message sent, its payload's first byte changed for each send.
    msg: M,
    recv_kind: Option<M::Kind>,
    batch: bool,
}

impl<const N: usize, M: BenchMsg<N>, C: Codec> TypedEp<N, M, C> {
    fn new(q: MsgQueue, side: Side, recv: Recv, batch: bool) -> Self {
        let payload = Bytes::numbered(0);
        let (msg, own) = match side {
            Side::Parent => (M::down(payload), M::up_kind()),
            Side::Child => (M::up(payload), M::down_kind()),
        };
        TypedEp {
            q: TypedQueue::from_queue(q),
            msg,
            recv_kind: (recv == Recv::Own).then_some(own),
            batch,
        }
    }
}

/// Chunks handed to one `send_batch` call.
pub(crate) const BATCH_CHUNK: u64 = 1024;

impl<const N: usize, M: BenchMsg<N>, C: Codec> Endpoint for TypedEp<N, M, C> {
    fn send(&mut self, seq: u64) -> Res<()> {
        if let Some(payload) = self.msg.payload_mut() {
            payload[0] = seq as u8;
        }
        Ok(self.q.send(&self.msg)?)
    }

    fn send_many(&mut self, first: u64, count: u64) -> Res<()> {
        if !self.batch {
            for seq in first..first + count {
                self.send(seq)?;
            }
            return Ok(());
        }
        let end = first + count;
        let mut start = first;
        while start < end {
            let stop = (start + BATCH_CHUNK).min(end);
            self.q
                .send_batch((start..stop).map(|seq| M::up(Bytes::numbered(seq))))?;
            start = stop;
        }
        Ok(())
    }

    fn send_stop(&mut self) -> Res<()> {
        Ok(self.q.send(M::stop())?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        let msg = match self.recv_kind {
            Some(kind) => self.q.recv_kind(kind)?,
            None => self.q.recv()?,
        };
        Ok(msg.first_byte())
    }
}

struct VecEp {
    q: TypedQueue<VecMsg>,
    msg: VecMsg,
    recv_kind: Option<crate::payload::VecMsgKind>,
}

impl VecEp {
    fn new(q: MsgQueue, side: Side, recv: Recv, size: usize) -> Self {
        let mut payload = vec![0xA5; size];
        payload[0] = 0;
        let (msg, own) = match side {
            Side::Parent => (VecMsg::Down(payload), crate::payload::VecMsgKind::Up),
            Side::Child => (VecMsg::Up(payload), crate::payload::VecMsgKind::Down),
        };
        VecEp {
            q: TypedQueue::from_queue(q),
            msg,
            recv_kind: (recv == Recv::Own).then_some(own),
        }
    }
}

impl Endpoint for VecEp {
    fn send(&mut self, seq: u64) -> Res<()> {
        if let VecMsg::Up(p) | VecMsg::Down(p) = &mut self.msg {
            p[0] = seq as u8;
        }
        Ok(self.q.send(&self.msg)?)
    }

    fn send_stop(&mut self) -> Res<()> {
        Ok(self.q.send(VecMsg::Stop)?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        let msg = match self.recv_kind {
            Some(kind) => self.q.recv_kind(kind)?,
            None => self.q.recv()?,
        };
        Ok(match msg {
            VecMsg::Up(p) | VecMsg::Down(p) => Some(p[0]),
            VecMsg::Stop => None,
        })
    }
}

// ---- ipc-channel ----

/// What the child sends the parent's one-shot server: the receiver of the
/// up channel and the sender of the down channel.
type Bootstrap<const N: usize> = (IpcReceiver<Bytes<N>>, IpcSender<Bytes<N>>);

struct IpcEp<const N: usize> {
    tx: IpcSender<Bytes<N>>,
    rx: IpcReceiver<Bytes<N>>,
    payload: Bytes<N>,
}

impl<const N: usize> IpcEp<N> {
    fn new(tx: IpcSender<Bytes<N>>, rx: IpcReceiver<Bytes<N>>) -> Self {
        IpcEp {
            tx,
            rx,
            payload: Bytes::numbered(0),
        }
    }
}

impl<const N: usize> Endpoint for IpcEp<N> {
    fn send(&mut self, seq: u64) -> Res<()> {
        self.payload.0[0] = seq as u8;
        // ipc-channel's send takes the message by value.
        Ok(self.tx.send(self.payload)?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        Ok(Some(self.rx.recv()?.0[0]))
    }
}

// ---- POSIX message queues ----

/// Messages a POSIX queue is asked to hold: a System V queue's capacity
/// (msgmnb, 16 KiB by default) in N-byte messages, at least the kernel's
/// default of 10. Above `/proc/sys/fs/mqueue/msg_max` (10 by default) the
/// kernel refuses it unless the process has `CAP_SYS_RESOURCE`, and the queue
/// gets `msg_max`; [`mq_depth_used`] tells which, and the results record it.
///
/// The depth is also kept within `RLIMIT_MSGQUEUE` (800 KiB by default), which
/// the two queues of a connection share: the kernel charges each message its
/// size plus about [`MQ_CHARGE_PER_MESSAGE`] bytes of bookkeeping.
fn mq_depth(n: usize) -> i64 {
    let msgmnb = ipcq::Limits::read().map_or(16384, |l| l.msgmnb);
    let budget = getrlimit(Resource::RLIMIT_MSGQUEUE).map_or(819_200, |(soft, _)| soft) / 2;
    let per_message = mq_msgsize(n) as u64 + MQ_CHARGE_PER_MESSAGE;
    let affordable = usize::try_from(budget / per_message).unwrap_or(usize::MAX);
    (msgmnb / n).min(affordable).max(10) as i64
}

/// What Linux charges a POSIX queue per message besides the message itself,
/// rounded up: a `struct msg_msg` (48 bytes) and a priority tree node (40).
const MQ_CHARGE_PER_MESSAGE: u64 = 96;

fn mq_msgsize(n: usize) -> i64 {
    (n + 16) as i64
}

fn create_mq<const N: usize>(name: &str) -> Res<MqdT> {
    let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR;
    let mode = Mode::from_bits_truncate(0o600);
    let attr = MqAttr::new(0, mq_depth(N), mq_msgsize(N), 0);
    match mq_open(name, flags, mode, Some(&attr)) {
        Ok(q) => Ok(q),
        Err(nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM) => {
            let attr = MqAttr::new(0, 10, mq_msgsize(N), 0);
            Ok(mq_open(name, flags, mode, Some(&attr))?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The depth a POSIX queue for N-byte payloads really gets here.
pub(crate) fn mq_depth_used<const N: usize>() -> Res<i64> {
    let name = unique_name();
    let q = create_mq::<N>(&name)?;
    let _guard = Guard::mq(&name);
    let depth = nix::mqueue::mq_getattr(&q)?.maxmsg();
    mq_close(q)?;
    Ok(depth)
}

struct MqEp<const N: usize> {
    /// `Option` only to close them on drop.
    tx: Option<MqdT>,
    rx: Option<MqdT>,
    payload: Bytes<N>,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl<const N: usize> MqEp<N> {
    fn new(tx: MqdT, rx: MqdT) -> Self {
        MqEp {
            tx: Some(tx),
            rx: Some(rx),
            payload: Bytes::numbered(0),
            out: vec![0; N + 16],
            buf: vec![0; mq_msgsize(N) as usize],
        }
    }
}

impl<const N: usize> Endpoint for MqEp<N> {
    fn send(&mut self, seq: u64) -> Res<()> {
        self.payload.0[0] = seq as u8;
        let n = bincode::serde::encode_into_slice(
            self.payload,
            &mut self.out,
            bincode::config::standard(),
        )?;
        Ok(mq_send(self.tx.as_ref().expect("open"), &self.out[..n], 0)?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        let mut prio = 0;
        let n = mq_receive(self.rx.as_ref().expect("open"), &mut self.buf, &mut prio)?;
        let (payload, _): (Bytes<N>, usize) =
            bincode::serde::decode_from_slice(&self.buf[..n], bincode::config::standard())?;
        Ok(Some(payload.0[0]))
    }
}

impl<const N: usize> Drop for MqEp<N> {
    fn drop(&mut self) {
        for q in [self.tx.take(), self.rx.take()].into_iter().flatten() {
            let _ = mq_close(q);
        }
    }
}

// ---- Unix stream socket ----

/// Frames are a u32 little-endian length, then the bincode encoding: one
/// `write` per message; the reader is buffered, as stream readers are.
struct UdsEp<const N: usize> {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    payload: Bytes<N>,
    frame: Vec<u8>,
    buf: Vec<u8>,
}

impl<const N: usize> UdsEp<N> {
    fn new(stream: UnixStream) -> io::Result<Self> {
        Ok(UdsEp {
            reader: BufReader::with_capacity(64 * 1024, stream.try_clone()?),
            writer: stream,
            payload: Bytes::numbered(0),
            frame: vec![0; N + 16],
            buf: vec![0; N + 16],
        })
    }
}

impl<const N: usize> Endpoint for UdsEp<N> {
    fn send(&mut self, seq: u64) -> Res<()> {
        self.payload.0[0] = seq as u8;
        let n = bincode::serde::encode_into_slice(
            self.payload,
            &mut self.frame[4..],
            bincode::config::standard(),
        )?;
        self.frame[..4].copy_from_slice(&(n as u32).to_le_bytes());
        Ok(self.writer.write_all(&self.frame[..4 + n])?)
    }

    fn recv(&mut self) -> Res<Option<u8>> {
        let mut len = [0; 4];
        self.reader.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        let body = self.buf.get_mut(..len).ok_or("frame too long")?;
        self.reader.read_exact(body)?;
        let (payload, _): (Bytes<N>, usize) =
            bincode::serde::decode_from_slice(body, bincode::config::standard())?;
        Ok(Some(payload.0[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spinning_transport_is_labelled_with_its_spin() {
        let spin = format!("{} us spin", SPIN.as_micros());
        assert!(Transport::TypedSpin.label().ends_with(&spin));
        assert_eq!(
            Transport::from_id("ipcq-typed-spin"),
            Some(Transport::TypedSpin)
        );
    }
}
