//! Batches: many typed messages of one variant in one System V message.
//!
//! [`TypedQueue::send_batch`] packs runs of consecutive messages of the same
//! typed variant into as few System V messages as the send limit allows, and
//! every receive of a [`TypedQueue`] unpacks them again: the first item is
//! returned at once, the others wait in a buffer that the handle (and its
//! clones) hands out before making another syscall.
//!
//! A batch is sent under the mtype of its variant, so that receives by mtype
//! still select it, and its body is:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 1 | [`BATCH_MARKER`], `0x80 | WIRE_VERSION` |
//! | 1 | 4 | item count, u32 little-endian, at least 1 |
//! | 5 | … | per item: its length as a bincode varint, then a complete typed body (header and fields) |
//!
//! `docs/WIRE.md` section 11 is the specification.

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::codec::Codec;
use crate::error::{Error, Op, Result, counted};
use crate::message::{DecodeError, DecodeReason, QueueMessage};
use crate::queue::{MsgQueue, Wait, with_send_buf, with_thread_buf};
use crate::selector::{Selector, check_mtype};
use crate::sys::MsgBuf;
use crate::typed::TypedQueue;
use crate::wire::{Body, WIRE_VERSION};

/// Byte 0 of a batch: the high bit marks a batch, the low bits are the wire
/// format version of its items (`0x81` for version 1).
///
/// A receiver that does not know batches reads it as an unknown wire format
/// version ([`DecodeReason::WireVersion`] with `found: 0x81`), never as the
/// fields of a message.
pub const BATCH_MARKER: u8 = 0x80 | WIRE_VERSION;

/// Marker byte and item count.
const BATCH_HEADER_LEN: usize = 5;

/// Batches a receiving handle keeps for reuse once their items are handed out.
const SPARE_BODIES: usize = 4;

thread_local! {
    /// The first message of a run, sent alone if no second one joins it.
    static SINGLE: Cell<Option<MsgBuf>> = const { Cell::new(None) };
    /// The message being encoded.
    static ITEM: Cell<Option<MsgBuf>> = const { Cell::new(None) };
}

impl<M: QueueMessage, C: Codec> TypedQueue<M, C> {
    /// Sends many messages in as few System V messages as possible, waiting
    /// while the queue is full. Returns how many System V messages it took.
    ///
    /// Each run of consecutive messages of the same typed variant travels as
    /// batches: System V messages under that variant's mtype that hold as
    /// many of them as fit in the send limit (the lesser of `msgmax` and the
    /// queue's capacity, see [`MsgQueue::max_message_size`]). Any receive on
    /// a [`TypedQueue`] of this version of ipcq unpacks them, so the receiver
    /// gets the messages one by one, in order, with every selection
    /// ([`recv_kind`](Self::recv_kind) still takes only its variant).
    /// Messages are never reordered: `A A B A` goes as a batch of two `A`,
    /// then `B`, then `A`.
    ///
    /// A sender without read permission cannot read the queue's capacity, and
    /// the kernel makes a message larger than it wait for ever, as if the
    /// queue were full. Such a sender sends a batch whole only if the queue
    /// takes it at once, and otherwise its messages one by one, each waiting
    /// for room as `send` does.
    ///
    /// Sent as single messages, exactly as [`send`](Self::send) sends them:
    /// `#[ipcq(text)]` and `#[ipcq(bytes)]` variants (the programs they are
    /// for do not read batches), and a message that no neighbour of the same
    /// variant joins. Only receivers that unpack batches can read the rest:
    /// a receiver built with an ipcq from before batching reports a
    /// [`DecodeReason::WireVersion`] error (byte 0 is [`BATCH_MARKER`]).
    ///
    /// A batch leaves the queue whole, taken by one receive: the receiving
    /// handle keeps the rest of its messages ([`pending`](Self::pending)) and
    /// hands them out to its next receives. So one worker of a pool takes a
    /// whole batch, not its share of it, and a receiver that crashes, or
    /// drops its last handle with messages pending, loses up to a batch of
    /// messages where single messages would lose at most one. Batch what one
    /// receiver will handle, such as a stream of readings; send work for a
    /// pool one message at a time.
    ///
    /// Sending allocates nothing once the per-thread buffers are warm.
    ///
    /// # Errors
    ///
    /// On the first failure, a [`BatchError`] that says how many of the
    /// messages were sent: exactly the ones before it. The messages of the
    /// failing System V message and all after it were not sent. The causes
    /// are those of [`send`](Self::send): [`Error::Encode`] for a message that
    /// cannot be encoded (the messages before it are sent first),
    /// [`Error::TooLarge`] for one message that alone exceeds the limit, and
    /// removal, a stop or a permission error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipcq::{Key, QueueMessage, TypedQueue};
    /// # use serde::{Deserialize, Serialize};
    ///
    /// #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    /// enum Tick {
    ///     At(u64),
    ///     Done,
    /// }
    ///
    /// let q = TypedQueue::<Tick>::create(Key::private())?;
    /// let ticks: Vec<Tick> = (0..100).map(Tick::At).collect();
    /// assert_eq!(q.send_batch(&ticks)?, 1); // 100 messages, one msgsnd
    /// q.send(Tick::Done)?;
    /// assert_eq!(q.stat()?.messages, 2);
    ///
    /// assert_eq!(q.recv()?, Tick::At(0)); // unpacks the batch
    /// assert_eq!(q.pending(), 99);
    /// assert_eq!(q.recv_kind(TickKind::At)?, Tick::At(1));
    /// let rest: Vec<Tick> = q.try_iter().map(Result::unwrap).collect();
    /// assert_eq!(rest.len(), 99); // At(2) to At(99), then Done
    /// assert_eq!(rest.last(), Some(&Tick::Done));
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn send_batch<I>(&self, msgs: I) -> Result<usize, BatchError>
    where
        I: IntoIterator,
        I::Item: Borrow<M>,
    {
        // Read again: the capacity may have shrunk since this handle last
        // looked, and a batch larger than it would not be sent.
        let (limit, capacity_known) = self.queue.current_send_limit();
        with_send_buf(|batch| {
            with_thread_buf(&SINGLE, 256, |single| {
                with_thread_buf(&ITEM, 256, |item| {
                    let mut packer = Packer {
                        queue: &self.queue,
                        limit,
                        capacity_known,
                        batch,
                        single,
                        item,
                        run: Run::Empty,
                        in_run: 0,
                        sent: 0,
                        sysv: 0,
                    };
                    for msg in msgs {
                        packer.push::<M, C>(msg.borrow())?;
                    }
                    packer.flush()?;
                    Ok(packer.sysv)
                })
            })
        })
    }

    /// How many messages this handle has received in batches and not yet
    /// handed out.
    ///
    /// They are off the kernel queue (`stat().messages` does not count them)
    /// and come out of the next receives that select them, before anything
    /// else is received. Clones of a handle share them.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The buffered item that a receive with `selector` takes, if any.
    ///
    /// For [`Selector::UpTo`], a message of a lower mtype still on the kernel
    /// queue comes first, as the selection promises.
    #[inline]
    pub(crate) fn recv_pending(&self, selector: Selector) -> Option<Result<M>> {
        // Inlined: most receives find nothing buffered.
        if self.pending.is_empty() {
            return None;
        }
        self.take_pending(selector)
    }

    fn take_pending(&self, selector: Selector) -> Option<Result<M>> {
        if let Err(e) = selector.to_msgtyp() {
            return Some(Err(e));
        }
        let Selector::UpTo(up_to) = selector else {
            return self.pending.take::<M, C>(selector);
        };
        loop {
            let lowest = self.pending.lowest_up_to(up_to)?;
            if lowest > 1 {
                match self.recv_queue(Selector::UpTo(lowest - 1), Wait::No) {
                    Ok(Some(msg)) => return Some(Ok(msg)),
                    // A message taken off the queue comes back, even undecodable.
                    Err(e @ Error::Decode(_)) => return Some(Err(e)),
                    // Nothing more urgent, or the queue is gone or refuses us:
                    // the buffered messages are received already, hand them out.
                    Ok(None) | Err(_) => {}
                }
            }
            if let Some(taken) = self.pending.take::<M, C>(Selector::Type(lowest)) {
                return Some(taken);
            }
            // A clone took the last of that type meanwhile: others may match.
        }
    }
}

/// A [`TypedQueue::send_batch`] that failed part of the way.
///
/// The messages before [`sent`](Self::sent) are on the queue; that one and
/// all after it are not. Converts into [`Error`] with `?`.
pub struct BatchError {
    error: Error,
    sent: usize,
}

impl BatchError {
    /// What went wrong.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// How many of the messages, counted from the first, were sent.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// The error, dropping the count.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl fmt::Debug for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchError")
            .field("error", &self.error)
            .field("sent", &self.sent)
            .finish()
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (after sending {})",
            self.error,
            counted(self.sent, "message")
        )
    }
}

/// The inner error's text is in this one's, so its source is the inner
/// error's source: a chain of causes shows each sentence once.
impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Error {
        e.error
    }
}

/// As [`Error`]'s conversion, dropping the count.
impl From<BatchError> for std::io::Error {
    fn from(e: BatchError) -> std::io::Error {
        e.error.into()
    }
}

/// What the packer holds that is not sent yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    Empty,
    /// One message, in `single`.
    Single,
    /// A batch of this many items, in `batch`.
    Batch(u32),
}

/// Groups consecutive messages of one typed variant into batches.
struct Packer<'a> {
    queue: &'a MsgQueue,
    limit: usize,
    /// Whether `limit` counts the queue's capacity. A sender without read
    /// permission cannot read it, and a message larger than the capacity
    /// would wait for ever as if the queue were full: its batches go whole
    /// only if the queue takes them at once.
    capacity_known: bool,
    batch: &'a mut MsgBuf,
    single: &'a mut MsgBuf,
    item: &'a mut MsgBuf,
    run: Run,
    /// Messages held in `run`.
    in_run: usize,
    /// Messages sent so far.
    sent: usize,
    /// System V messages sent so far.
    sysv: usize,
}

impl Packer<'_> {
    fn push<M: QueueMessage, C: Codec>(&mut self, msg: &M) -> Result<(), BatchError> {
        let mtype = msg.mtype();
        let checked = match check_mtype(Op::Send, mtype) {
            Ok(checked) => checked,
            Err(error) => return self.fail_after_flush(error),
        };
        if let Run::Batch(count) = self.run
            && self.batch.mtype() == mtype
            && count < u32::MAX
        {
            return self.push_into_batch::<M, C>(msg, checked, count);
        }
        self.item.set_mtype(checked);
        self.item.clear_text();
        let mut body = Body::new(self.item);
        if let Err(e) = msg.encode_body::<C>(&mut body) {
            return self.fail_after_flush(e.into());
        }
        let typed = body.typed;
        self.place(checked, typed)
    }

    /// Encodes a message of the open batch's variant straight into the batch,
    /// behind a one-byte length (items of up to 250 bytes, the usual case), so
    /// that it is not copied. An item that is longer, or that does not fit,
    /// is moved out and placed as [`push`](Self::push) places any other.
    fn push_into_batch<M: QueueMessage, C: Codec>(
        &mut self,
        msg: &M,
        checked: libc::c_long,
        count: u32,
    ) -> Result<(), BatchError> {
        let mark = self.batch.text().len();
        self.batch.extend_text(&[0]);
        let mut body = Body::new(self.batch);
        let encoded = msg.encode_body::<C>(&mut body);
        let typed = body.typed;
        if let Err(e) = encoded {
            self.batch.truncate_text(mark);
            return self.fail_after_flush(e.into());
        }
        let item_len = self.batch.text().len() - mark - 1;
        if typed && item_len <= 250 && mark + 1 + item_len <= self.limit {
            self.batch.text_mut()[mark] = item_len as u8;
            self.run = Run::Batch(count + 1);
            self.in_run += 1;
            return Ok(());
        }
        self.item.set_mtype(checked);
        self.item.clear_text();
        self.item.extend_text(&self.batch.text()[mark + 1..]);
        self.batch.truncate_text(mark);
        self.place(checked, typed)
    }

    /// Adds the message encoded in `item` to the run, or starts a new run
    /// with it, sending what no longer fits.
    fn place(&mut self, checked: libc::c_long, typed: bool) -> Result<(), BatchError> {
        if !typed {
            // Text and bytes bodies are for programs that know no batches.
            self.flush()?;
            self.send_item()?;
            return Ok(());
        }
        let mtype = self.item.mtype();
        let item_len = self.item.text().len();
        let same = |buf: &MsgBuf| buf.mtype() == mtype;
        match self.run {
            Run::Single
                if same(self.single)
                    && BATCH_HEADER_LEN
                        + framed_len(self.single.text().len())
                        + framed_len(item_len)
                        <= self.limit =>
            {
                self.batch.set_mtype(checked);
                self.batch.clear_text();
                self.batch.extend_text(&[BATCH_MARKER, 0, 0, 0, 0]);
                append_item(self.batch, self.single.text());
                append_item(self.batch, self.item.text());
                self.run = Run::Batch(2);
                self.in_run = 2;
            }
            Run::Batch(count)
                if same(self.batch)
                    && count < u32::MAX
                    && self.batch.text().len() + framed_len(item_len) <= self.limit =>
            {
                append_item(self.batch, self.item.text());
                self.run = Run::Batch(count + 1);
                self.in_run += 1;
            }
            _ => {
                self.flush()?;
                std::mem::swap(self.single, self.item);
                self.run = Run::Single;
                self.in_run = 1;
            }
        }
        Ok(())
    }

    /// Sends what the run holds.
    fn flush(&mut self) -> Result<(), BatchError> {
        let buf: &MsgBuf = match self.run {
            Run::Empty => return Ok(()),
            Run::Single => self.single,
            Run::Batch(count) => {
                self.batch.text_mut()[1..BATCH_HEADER_LEN].copy_from_slice(&count.to_le_bytes());
                if !self.capacity_known {
                    return self.flush_batch_blind();
                }
                return self.flush_batch();
            }
        };
        send(self.queue, buf).map_err(|error| self.failed(error))?;
        self.count_sent(self.in_run);
        self.end_run();
        Ok(())
    }

    /// Sends the open batch, whole; split into batches that fit if the limit
    /// has shrunk below it since it was sized (`msgmax` lowered, or the
    /// capacity set lower by another process). The batches after it are
    /// sized by the new limit too.
    fn flush_batch(&mut self) -> Result<(), BatchError> {
        match send(self.queue, self.batch) {
            Ok(()) => {
                self.count_sent(self.in_run);
                self.end_run();
                Ok(())
            }
            Err(Error::TooLarge { .. }) => {
                // The failed send read the limits again.
                self.limit = self.queue.send_limit();
                self.send_batch_in_parts(self.limit)
            }
            Err(error) => Err(self.failed(error)),
        }
    }

    /// Sends the open batch's items, in order, as batches of at most `limit`
    /// bytes, through `single` (which holds nothing while a batch is open;
    /// not through `item`, which may hold the message that closed it). An
    /// item that has a batch to itself goes as a message of its own: with a
    /// `limit` of 0, every item.
    fn send_batch_in_parts(&mut self, limit: usize) -> Result<(), BatchError> {
        let mut at = BATCH_HEADER_LEN;
        let mut from = at;
        let mut count = 0;
        while let Some(item) = item_at(self.batch.text(), at) {
            if count > 0 && BATCH_HEADER_LEN + (item.end - from) > limit {
                self.send_part(from..at, count)?;
                (from, count) = (at, 0);
            }
            at = item.end;
            count += 1;
        }
        if count > 0 {
            self.send_part(from..at, count)?;
        }
        self.end_run();
        Ok(())
    }

    /// Sends the `count` framed items at `items` of the open batch: as a
    /// batch, or one item as a message of its own.
    fn send_part(&mut self, items: std::ops::Range<usize>, count: u32) -> Result<(), BatchError> {
        self.single.set_mtype(self.batch.mtype());
        self.single.clear_text();
        if count == 1 {
            let item = item_at(self.batch.text(), items.start).expect("a framed item");
            self.single.extend_text(&self.batch.text()[item]);
        } else {
            self.single.extend_text(&[BATCH_MARKER]);
            self.single.extend_text(&count.to_le_bytes());
            self.single.extend_text(&self.batch.text()[items]);
        }
        send(self.queue, self.single).map_err(|error| self.failed(error))?;
        self.count_sent(count as usize);
        Ok(())
    }

    /// Sends the open batch where the queue's capacity is unknown: whole if
    /// the queue takes it now, else item by item, each waiting for room as a
    /// single send would. A full queue and a batch larger than the capacity
    /// look the same here (`EAGAIN`), and only the second would wait for ever.
    fn flush_batch_blind(&mut self) -> Result<(), BatchError> {
        // The try that does not wait does not look for a stop: a batch send
        // may wait, so it does.
        let whole = self
            .queue
            .refuse_if_stopped(Op::Send, Wait::Forever)
            .and_then(|_| self.queue.send_msg(self.batch.outgoing(), Wait::No))
            .map_err(|error| self.failed(error))?;
        if !whole {
            // Item by item, each waiting for room as a single send would.
            return self.send_batch_in_parts(0);
        }
        self.count_sent(self.in_run);
        self.end_run();
        Ok(())
    }

    /// Sends the message in `item` as it is.
    fn send_item(&mut self) -> Result<(), BatchError> {
        send(self.queue, self.item).map_err(|error| self.failed(error))?;
        self.count_sent(1);
        Ok(())
    }

    /// Sends the messages before the one that failed, then reports its error.
    fn fail_after_flush(&mut self, error: Error) -> Result<(), BatchError> {
        self.flush()?;
        Err(self.failed(error))
    }

    /// One System V message carrying `messages` of the batch went out.
    fn count_sent(&mut self, messages: usize) {
        self.sent += messages;
        self.sysv += 1;
    }

    /// The run's messages are all sent: none is open.
    fn end_run(&mut self) {
        self.run = Run::Empty;
        self.in_run = 0;
    }

    /// `error`, from a send after the first `sent` messages went out.
    fn failed(&self, error: Error) -> BatchError {
        BatchError {
            error,
            sent: self.sent,
        }
    }
}

fn send(queue: &MsgQueue, buf: &MsgBuf) -> Result<()> {
    let sent = queue.send_msg(buf.outgoing(), Wait::Forever)?;
    debug_assert!(sent, "a blocking send sends or fails");
    Ok(())
}

/// Bytes an item of `len` bytes takes in a batch: its length prefix and itself.
fn framed_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

fn append_item(batch: &mut MsgBuf, item: &[u8]) {
    let mut prefix = [0; 9];
    let n = write_varint(item.len() as u64, &mut prefix);
    batch.extend_text(&prefix[..n]);
    batch.extend_text(item);
}

/// Length of the bincode 2 varint of `n` (`docs/WIRE.md` section 4.1).
fn varint_len(n: u64) -> usize {
    match n {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

fn write_varint(n: u64, out: &mut [u8; 9]) -> usize {
    let width = varint_len(n);
    match width {
        1 => out[0] = n as u8,
        3 => {
            out[0] = 0xFB;
            out[1..3].copy_from_slice(&(n as u16).to_le_bytes());
        }
        5 => {
            out[0] = 0xFC;
            out[1..5].copy_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out[0] = 0xFD;
            out[1..9].copy_from_slice(&n.to_le_bytes());
        }
    }
    width
}

/// Reads a varint at the start of `bytes`: its value and its width.
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let (&first, rest) = bytes.split_first()?;
    let wide = |width: usize| {
        let raw = rest.get(..width)?;
        let mut le = [0; 8];
        le[..width].copy_from_slice(raw);
        Some((u64::from_le_bytes(le), 1 + width))
    };
    match first {
        0..=250 => Some((u64::from(first), 1)),
        0xFB => wide(2),
        0xFC => wide(4),
        0xFD => wide(8),
        _ => None,
    }
}

/// Where the bytes of the item whose length prefix starts at `at` in
/// `items` lie, in a batch whose framing is known to be sound (one this
/// process built, or one [`check_batch`] passed); `None` past the last item.
fn item_at(items: &[u8], at: usize) -> Option<std::ops::Range<usize>> {
    let (len, width) = read_varint(&items[at..])?;
    let start = at + width;
    Some(start..start + len as usize)
}

/// Whether a failed decode is a batch of a typed variant: the variant's name if so.
///
/// Only the header check of a typed variant reports a wire version, so a
/// text or bytes variant whose body happens to start with the marker byte is
/// never taken for a batch.
pub(crate) fn batch_variant(reason: &DecodeReason) -> Option<&'static str> {
    match *reason {
        DecodeReason::WireVersion {
            variant,
            found: BATCH_MARKER,
            ..
        } => Some(variant),
        _ => None,
    }
}

/// Checks a batch's framing. Returns the item count and the first item's range.
fn check_batch(body: &[u8]) -> Result<(u32, std::ops::Range<usize>), String> {
    let Some((header, mut rest)) = body.split_first_chunk::<BATCH_HEADER_LEN>() else {
        return Err(format!(
            "the body is {} bytes, shorter than the {BATCH_HEADER_LEN}-byte batch header",
            body.len()
        ));
    };
    let count = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    if count == 0 {
        return Err("the item count is 0".into());
    }
    let mut first = 0..0;
    for i in 0..count {
        let offset = body.len() - rest.len();
        let Some((len, width)) = read_varint(rest) else {
            return Err(format!(
                "item {} of {count}: no valid length at offset {offset}",
                i + 1
            ));
        };
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| width.checked_add(len))
            .filter(|&end| end <= rest.len())
        else {
            return Err(format!(
                "item {} of {count}: {len} bytes at offset {} run past the end ({} bytes)",
                i + 1,
                offset + width,
                body.len()
            ));
        };
        if i == 0 {
            first = offset + width..offset + end;
        }
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        return Err(format!(
            "{} left over after {}",
            counted(rest.len(), "byte"),
            counted(count as usize, "item")
        ));
    }
    Ok((count, first))
}

/// Messages received in batches and not handed out yet, shared by the clones
/// of a [`TypedQueue`].
///
/// Items stay encoded until handed out, so the buffer is the same whatever
/// the message type (the handle stays `Send + Sync`), and an item that does
/// not decode comes back in its own [`DecodeError`], bytes and all, when its
/// turn comes.
#[derive(Default)]
pub(crate) struct Pending {
    /// Items held, readable without the lock (receives skip the lock when it
    /// is 0) but changed only under it.
    items: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// In the order they were received.
    batches: VecDeque<Unpacked>,
    /// Emptied bodies, kept so that unpacking allocates nothing once warm.
    spare: Vec<Vec<u8>>,
}

/// The items of one received batch that are left.
struct Unpacked {
    mtype: i64,
    /// The framed items (length, body), from the second item of the batch on.
    items: Vec<u8>,
    /// Where the next item's length starts.
    pos: usize,
    left: u32,
}

impl Pending {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.items.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update leaves the buffer consistent, whatever panicked while held.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unpacks a received batch of `variant`: keeps every item but the first,
    /// and returns the first, decoded.
    pub(crate) fn unpack<M: QueueMessage, C: Codec>(
        &self,
        variant: &'static str,
        mtype: i64,
        body: &[u8],
    ) -> Result<M> {
        let (count, first) = check_batch(body).map_err(|error| {
            Error::Decode(DecodeError::new(
                mtype,
                body,
                DecodeReason::Batch { variant, error },
            ))
        })?;
        if count > 1 {
            let mut inner = self.lock();
            let mut items = inner.spare.pop().unwrap_or_default();
            items.clear();
            items.extend_from_slice(&body[first.end..]);
            inner.batches.push_back(Unpacked {
                mtype,
                items,
                pos: 0,
                left: count - 1,
            });
            // Changed only under the lock: a load and a store, no read-modify-write.
            let held = self.items.load(Ordering::Relaxed);
            self.items
                .store(held + count as usize - 1, Ordering::Release);
        }
        decode_item::<M, C>(mtype, &body[first])
    }

    /// The lowest mtype at or below `up_to` among the buffered items.
    fn lowest_up_to(&self, up_to: i64) -> Option<i64> {
        self.lock()
            .batches
            .iter()
            .map(|b| b.mtype)
            .filter(|&m| m <= up_to)
            .min()
    }

    /// Takes and decodes the oldest buffered item that `selector` picks.
    fn take<M: QueueMessage, C: Codec>(&self, selector: Selector) -> Option<Result<M>> {
        let mut inner = self.lock();
        let index = match selector {
            Selector::Any => (!inner.batches.is_empty()).then_some(0),
            Selector::Type(n) => inner.batches.iter().position(|b| b.mtype == n),
            Selector::Except(n) => inner.batches.iter().position(|b| b.mtype != n),
            Selector::UpTo(n) => {
                let lowest = inner
                    .batches
                    .iter()
                    .map(|b| b.mtype)
                    .filter(|&m| m <= n)
                    .min()?;
                inner.batches.iter().position(|b| b.mtype == lowest)
            }
        }?;
        let batch = &mut inner.batches[index];
        let mtype = batch.mtype;
        // check_batch has vouched for the framing.
        let item = item_at(&batch.items, batch.pos).expect("a checked batch");
        // The item is taken before it is decoded, so that a Deserialize impl
        // that panics does not leave it to be decoded (and panic) again.
        batch.pos = item.end;
        batch.left -= 1;
        let emptied = batch.left == 0;
        let held = self.items.load(Ordering::Relaxed);
        self.items.store(held - 1, Ordering::Release);
        if !emptied {
            return Some(decode_item::<M, C>(
                mtype,
                &inner.batches[index].items[item],
            ));
        }
        let done = inner.batches.remove(index).expect("the index was found");
        let msg = decode_item::<M, C>(mtype, &done.items[item]);
        if inner.spare.len() < SPARE_BODIES {
            inner.spare.push(done.items);
        }
        Some(msg)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let left = *self.items.get_mut();
        if left > 0 {
            log::warn!(
                "{left} message(s) received in batches were dropped with the last handle of their queue before being handed out"
            );
        }
    }
}

/// One item of a batch, decoded into the `Result<M>` it is returned in (as a
/// single message is; see `TypedQueue::decode_received`). A batch inside a
/// batch is not unpacked: its item is an error.
fn decode_item<M: QueueMessage, C: Codec>(mtype: i64, item: &[u8]) -> Result<M> {
    M::decode_body_or_else::<C, _>(mtype, item, |reason| {
        Err(Error::Decode(DecodeError::new(mtype, item, reason)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        for n in [0, 7, 250, 251, 300, 0xFFFF, 0x1_0000, 0xFFFF_FFFF, 1 << 40] {
            let mut out = [0; 9];
            let width = write_varint(n, &mut out);
            assert_eq!(width, varint_len(n));
            assert_eq!(read_varint(&out[..width]), Some((n, width)), "{n}");
        }
        assert_eq!(read_varint(&[0xFE; 17]), None);
        assert_eq!(read_varint(&[0xFB, 1]), None);
        assert_eq!(read_varint(&[]), None);
    }

    #[test]
    fn checks_the_framing() {
        let batch = |count: u32, rest: &[u8]| {
            let mut b = vec![BATCH_MARKER];
            b.extend_from_slice(&count.to_le_bytes());
            b.extend_from_slice(rest);
            b
        };
        assert_eq!(check_batch(&batch(2, &[1, 9, 2, 8, 7])), Ok((2, 6..7)));
        assert!(check_batch(&batch(0, &[])).is_err());
        // An item short: the third is missing, and the error counts from 1.
        let short = check_batch(&batch(3, &[1, 9, 2, 8, 7])).unwrap_err();
        assert!(short.starts_with("item 3 of 3: no valid length"), "{short}");
        assert!(check_batch(&batch(1, &[1, 9, 0])).is_err()); // a byte over
        let past = check_batch(&batch(1, &[5, 9])).unwrap_err(); // runs past the end
        assert!(past.starts_with("item 1 of 1: 5 bytes"), "{past}");
        assert!(check_batch(&[BATCH_MARKER, 1, 0]).is_err()); // header cut short
    }
}
