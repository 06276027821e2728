//! `TypedQueue<M>`: typed messages over a byte queue.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::{self, Pending};
use crate::buffer::Message;
use crate::codec::{Bincode, Codec};
use crate::error::{Error, Op, Result};
use crate::key::{Key, QueueId};
use crate::message::{DecodeError, Dispatch, QueueMessage};
use crate::options::OpenOptions;
use crate::queue::{LentRecvBuf, MsgQueue, Wait, put_back_send_buf, timed_out};
use crate::selector::{Selector, check_mtype};
use crate::stat::QueueStat;
use crate::stop::StopHandle;
use crate::sys::StackMsg;
use crate::wire::Body;

/// A queue of typed messages: the variants of one [`QueueMessage`] enum.
///
/// Each variant travels with its own mtype, so besides receiving in order
/// ([`recv`](Self::recv)) a receiver can take one variant
/// ([`recv_kind`](Self::recv_kind)), the most urgent first
/// ([`recv_priority`](Self::recv_priority)) or all but one
/// ([`recv_except`](Self::recv_except)); worker loops hand each message to
/// a handler ([`serve`](Self::serve)), or each message a [`Selector`] picks
/// ([`serve_by`](Self::serve_by)). `C` is the [`Codec`] of the bodies.
///
/// Sending encodes straight into a message built on the stack (bodies over
/// 8 KiB go on in a per-thread buffer), and receiving decodes from a
/// per-thread buffer, so neither allocates once warm (decoding a `String`
/// field allocates the string, of course). The handle is `Send + Sync` and
/// clones are cheap; several threads and processes may send and receive on
/// one queue, and each message goes to exactly one receiver.
///
/// # Batches
///
/// [`send_batch`](Self::send_batch) packs many messages of one variant into
/// one System V message, and every receive unpacks them: it returns the first
/// and keeps the others in a buffer of received messages, which later
/// receives that select them hand out before receiving anything new
/// ([`pending`](Self::pending) counts them). A handle and its clones share
/// that buffer; handles opened separately (or made with
/// [`from_queue`](Self::from_queue)) each have their own. What the buffer
/// changes:
///
/// - Per-variant order holds: a variant's buffered messages are older than
///   any of that variant still on the kernel queue, and come first.
///   [`recv_priority`](Self::recv_priority) first takes a message of a lower
///   mtype from the kernel queue if one waits there.
/// - Across variants, buffered messages come before messages of other
///   variants still on the kernel queue, even ones sent before the batch (when
///   a selective receive took the batch past them), and messages buffered
///   from several batches come out in the order the batches were received.
/// - Several threads receiving through clones share the buffer, but a thread
///   already waiting in the kernel does not see messages another thread
///   buffers meanwhile; they go to the next receive that selects them.
/// - Buffered messages have been received: a stop or the queue's removal does
///   not drop them. Receives, [`iter`](Self::iter) and [`serve`](Self::serve)
///   hand them out first, and report [`Error::Stopped`] or
///   [`Error::Removed`] once none of them matches. Dropping the last handle
///   that shares them drops them, with a warning in the log.
///
/// # Examples
///
/// ```
/// use ipcq::{Key, QueueMessage, TypedQueue};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
/// enum Cmd {
///     Reload,
///     #[ipcq(mtype = 10)]
///     Job { id: u64, path: String },
///     Shutdown,
/// }
///
/// let q = TypedQueue::<Cmd>::create(Key::private())?;
/// q.send(Cmd::Job { id: 1, path: "/srv/a".into() })?;
/// q.send(&Cmd::Reload)?;
/// assert_eq!(q.recv_kind(CmdKind::Reload)?, Cmd::Reload);
/// match q.recv()? {
///     Cmd::Job { id, path } => assert_eq!((id, path.as_str()), (1, "/srv/a")),
///     other => panic!("unexpected {other:?}"),
/// }
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
pub struct TypedQueue<M, C = Bincode> {
    pub(crate) queue: MsgQueue,
    /// Received batch items not yet handed out, shared by clones.
    pub(crate) pending: Arc<Pending>,
    // fn() -> (M, C): the queue holds neither, so it is Send + Sync whatever they are.
    _types: PhantomData<fn() -> (M, C)>,
}

impl<M, C> Clone for TypedQueue<M, C> {
    fn clone(&self) -> Self {
        TypedQueue {
            queue: self.queue.clone(),
            pending: Arc::clone(&self.pending),
            _types: PhantomData,
        }
    }
}

impl<M, C> fmt::Debug for TypedQueue<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedQueue")
            .field("message", &std::any::type_name::<M>())
            .field("codec", &std::any::type_name::<C>())
            .field("queue", &self.queue)
            .finish()
    }
}

impl<M: QueueMessage, C: Codec> TypedQueue<M, C> {
    /// Opens the queue named by `key`, creating it with mode `0o600` if missing.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`].
    pub fn create(key: Key) -> Result<Self> {
        MsgQueue::create(key).map(Self::from_queue)
    }

    /// Opens the existing queue named by `key`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no queue has the key,
    /// [`Error::InvalidArgument`] for [`Key::private`] (which names no
    /// existing queue), and as [`OpenOptions::open`].
    pub fn open(key: Key) -> Result<Self> {
        MsgQueue::open(key).map(Self::from_queue)
    }

    /// Opens a queue by its id (see [`MsgQueue::open_id`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no queue has this id.
    pub fn open_id(id: QueueId) -> Result<Self> {
        MsgQueue::open_id(id).map(Self::from_queue)
    }

    /// Opens or creates the queue named by `key` as `options` say (exclusive
    /// create, mode, owner, capacity, stop handle, spin).
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use ipcq::{Key, QueueMessage, TypedQueue, OpenOptions};
    /// # #[derive(QueueMessage, serde::Serialize, serde::Deserialize)]
    /// # enum Cmd { Reload }
    /// let q = TypedQueue::<Cmd>::open_with(
    ///     Key::private(),
    ///     OpenOptions::new().create_new(true).mode(0o620).capacity(1024),
    /// )?;
    /// assert_eq!(q.stat()?.capacity, 1024);
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn open_with(key: Key, options: &OpenOptions) -> Result<Self> {
        options.open(key).map(Self::from_queue)
    }

    /// A typed view of a byte queue, with a buffer of received batch items
    /// of its own.
    pub fn from_queue(queue: MsgQueue) -> Self {
        TypedQueue {
            queue,
            pending: Arc::default(),
            _types: PhantomData,
        }
    }

    /// Attaches a stop handle (see [`MsgQueue::with_stop`]); the handle keeps
    /// its buffered batch items.
    #[must_use = "the stop applies to the returned handle"]
    pub fn with_stop(self, stop: StopHandle) -> Self {
        TypedQueue {
            queue: self.queue.with_stop(stop),
            ..self
        }
    }

    /// Makes a send or receive that would sleep retry without sleeping for up
    /// to `spin` first (see [`MsgQueue::with_spin`]): for request and reply
    /// between processes on different CPUs, at the price of CPU time spent
    /// waiting.
    #[must_use = "the spin applies to the returned handle"]
    pub fn with_spin(self, spin: Duration) -> Self {
        TypedQueue {
            queue: self.queue.with_spin(spin),
            ..self
        }
    }

    /// The byte queue underneath, to send or receive raw messages.
    pub fn as_queue(&self) -> &MsgQueue {
        &self.queue
    }

    /// Gives up the types, keeping the byte queue. Buffered batch items that
    /// no clone shares are dropped (see [`pending`](Self::pending)), and so
    /// are they when the last clone is dropped; to keep them, take them
    /// first. Receives hand out buffered items before anything on the queue,
    /// so this takes those alone:
    ///
    /// ```
    /// # use ipcq::{Key, QueueMessage, TypedQueue};
    /// # #[derive(QueueMessage, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// # enum Cmd { Job(u32) }
    /// # let q = TypedQueue::<Cmd>::create(Key::private())?;
    /// q.send_batch([Cmd::Job(1), Cmd::Job(2), Cmd::Job(3)])?;
    /// q.send(Cmd::Job(4))?;
    /// assert_eq!(q.recv()?, Cmd::Job(1)); // takes the batch, and buffers two
    /// let mut buffered = Vec::new();
    /// while q.pending() > 0 {
    ///     buffered.extend(q.try_recv()?);
    /// }
    /// assert_eq!(buffered, [Cmd::Job(2), Cmd::Job(3)]);
    /// let raw = q.into_queue(); // nothing lost: Job(4) is still on the queue
    /// assert_eq!(raw.stat()?.messages, 1);
    /// # raw.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn into_queue(self) -> MsgQueue {
        self.queue
    }

    /// The key the queue was opened with.
    pub fn key(&self) -> Key {
        self.queue.key()
    }

    /// The stop handle attached to this queue, if any.
    pub fn stop_handle(&self) -> Option<&StopHandle> {
        self.queue.stop_handle()
    }

    /// How long a call that would sleep retries first (see
    /// [`with_spin`](Self::with_spin)); zero when it sleeps at once.
    pub fn spin_duration(&self) -> Duration {
        self.queue.spin_duration()
    }

    /// The largest encoded message this queue takes now (see
    /// [`MsgQueue::max_message_size`]).
    pub fn max_message_size(&self) -> usize {
        self.queue.max_message_size()
    }

    /// The queue's id.
    pub fn id(&self) -> QueueId {
        self.queue.id()
    }

    /// Sends a message, by value or by reference, waiting while the queue is full.
    ///
    /// A message passed by value is dropped when the send fails (a stop, the
    /// queue's removal); pass it by reference to keep it, or use
    /// [`send_timeout`](Self::send_timeout), whose error gives it back.
    ///
    /// Receivers decode values nested at most 128 levels deep (see
    /// [`Codec`]); a message whose fields nest deeper is sent, and comes back
    /// from every receive as an [`Error::Decode`] with its bytes.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when the encoded message exceeds msgmax or the
    /// queue's capacity, before any syscall; [`Error::Encode`] when a field
    /// cannot be encoded; otherwise as [`MsgQueue::send`].
    #[inline]
    pub fn send(&self, msg: impl Borrow<M>) -> Result<()> {
        self.send_wait(msg.borrow(), Wait::Forever).map(drop)
    }

    /// Sends a message if there is room now. On any failure, including a full
    /// queue, the message comes back in the error.
    ///
    /// # Errors
    ///
    /// [`SendError::is_full`] when the queue is full; otherwise as [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # use ipcq::{Key, OpenOptions, QueueMessage, TypedQueue};
    /// # #[derive(QueueMessage, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// # enum Cmd { Data(Vec<u8>) }
    /// let q = TypedQueue::<Cmd>::open_with(Key::private(), OpenOptions::new().create(true).capacity(100))?;
    /// q.try_send(Cmd::Data(vec![0; 80]))?;
    /// let err = q.try_send(Cmd::Data(vec![1; 80])).unwrap_err();
    /// assert!(err.is_full());
    /// assert_eq!(err.into_message(), Cmd::Data(vec![1; 80])); // nothing lost
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn try_send<B: Borrow<M>>(&self, msg: B) -> Result<(), SendError<B>> {
        match self.send_wait(msg.borrow(), Wait::No) {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::new(
                Error::WouldBlock {
                    op: Op::Send,
                    errno: nix::errno::Errno::EAGAIN,
                },
                msg,
            )),
            Err(error) => Err(SendError::new(error, msg)),
        }
    }

    /// Sends a message, waiting at most `timeout` for room. On any failure,
    /// including the timeout, the message comes back in the error.
    ///
    /// # Errors
    ///
    /// [`SendError::is_timeout`] when the queue stayed full; otherwise as
    /// [`send`](Self::send).
    pub fn send_timeout<B: Borrow<M>>(
        &self,
        msg: B,
        timeout: Duration,
    ) -> Result<(), SendError<B>> {
        match self.send_wait(msg.borrow(), Wait::timeout(timeout)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::new(timed_out(Op::Send, timeout), msg)),
            Err(error) => Err(SendError::new(error, msg)),
        }
    }

    /// Encodes `msg` on the stack (see [`MsgQueue::send_msg`] for why this
    /// is inlined) and sends it.
    #[inline(always)]
    fn send_wait(&self, msg: &M, wait: Wait) -> Result<bool> {
        let mut stack = StackMsg::new(check_mtype(Op::Send, msg.mtype())?);
        let mut body = Body::on_stack(&mut stack);
        let encoded = msg.encode_body::<C>(&mut body);
        match body.into_spilled() {
            None => {
                encoded?;
                self.queue.send_msg(stack.outgoing(), wait)
            }
            Some(spilled) => {
                let sent = encoded
                    .map_err(Error::from)
                    .and_then(|()| self.queue.send_msg(spilled.outgoing(), wait));
                put_back_send_buf(spilled);
                sent
            }
        }
    }

    /// Receives the oldest message, waiting until there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] for a message that is not a valid `M` (it holds the
    /// message's mtype and bytes); otherwise as [`MsgQueue::recv`].
    #[inline]
    pub fn recv(&self) -> Result<M> {
        self.recv_by(Selector::Any)
    }

    /// Receives the oldest message if one is waiting now.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn try_recv(&self) -> Result<Option<M>> {
        self.try_recv_by(Selector::Any)
    }

    /// Receives the oldest message, waiting at most `timeout`; `Ok(None)` if none came.
    ///
    /// The wait sleeps in the kernel (after the handle's
    /// [spin](Self::with_spin), if it has one) and wakes when a message
    /// arrives or about a millisecond after the deadline.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<M>> {
        self.recv_by_timeout(Selector::Any, timeout)
    }

    /// Receives the oldest message of one variant, leaving the others queued.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_kind(&self, kind: M::Kind) -> Result<M> {
        self.recv_by(Selector::kind(kind))
    }

    /// Receives the oldest message of one variant if one is waiting now.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn try_recv_kind(&self, kind: M::Kind) -> Result<Option<M>> {
        self.try_recv_by(Selector::kind(kind))
    }

    /// Receives the oldest message of one variant, waiting at most
    /// `timeout`; `Ok(None)` if none came.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_kind_timeout(&self, kind: M::Kind, timeout: Duration) -> Result<Option<M>> {
        self.recv_by_timeout(Selector::kind(kind), timeout)
    }

    /// Receives the message with the lowest mtype at or below `up_to`'s, the
    /// oldest of those first: lower mtypes are more urgent. Without explicit
    /// mtypes that is the order of declaration; kinds compare by mtype
    /// (`CmdKind::Urgent < CmdKind::Reload` when Urgent's mtype is lower).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_priority(&self, up_to: M::Kind) -> Result<M> {
        self.recv_by(Selector::up_to(up_to))
    }

    /// Receives the oldest message of any variant but `kind`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_except(&self, kind: M::Kind) -> Result<M> {
        self.recv_by(Selector::except(kind))
    }

    /// Receives the message `selector` picks, waiting until there is one.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_by(&self, selector: Selector) -> Result<M> {
        // recv_wait's path, without the Option: a large message is moved
        // fewer times on its way out.
        if let Some(buffered) = self.recv_pending(selector) {
            return buffered;
        }
        let mut lent = LentRecvBuf::take();
        let buf = lent.buf();
        self.queue.recv_buf(selector, buf, None, Wait::Forever)?;
        self.decode_received(buf.mtype(), buf.text())
    }

    /// Receives the message `selector` picks if one is waiting now.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn try_recv_by(&self, selector: Selector) -> Result<Option<M>> {
        self.recv_wait(selector, Wait::No)
    }

    /// Receives the message `selector` picks, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[inline]
    pub fn recv_by_timeout(&self, selector: Selector, timeout: Duration) -> Result<Option<M>> {
        self.recv_wait(selector, Wait::timeout(timeout))
    }

    #[inline(always)]
    fn recv_wait(&self, selector: Selector, wait: Wait) -> Result<Option<M>> {
        if let Some(buffered) = self.recv_pending(selector) {
            return buffered.map(Some);
        }
        self.recv_queue(selector, wait)
    }

    /// Receives from the kernel queue, unpacking a batch.
    ///
    /// Inlined, with the thread's receive buffer lent by a [`LentRecvBuf`]
    /// rather than to a closure: a blocking receive then makes its syscall in
    /// the caller's own frame (see [`MsgQueue::send_msg`]).
    #[inline(always)]
    pub(crate) fn recv_queue(&self, selector: Selector, wait: Wait) -> Result<Option<M>> {
        let mut lent = LentRecvBuf::take();
        let buf = lent.buf();
        if !self.queue.recv_buf(selector, buf, None, wait)? {
            return Ok(None);
        }
        self.decode_received(buf.mtype(), buf.text()).map(Some)
    }

    /// The message received with `mtype` and `text`: one message, or the
    /// first of a batch, whose others are kept for later receives.
    ///
    /// The message is decoded straight into the `Result<M>` returned: moving
    /// a decoded `Result<M, DecodeReason>` into it copied a 4 KiB message once
    /// more.
    #[inline(always)]
    fn decode_received(&self, mtype: i64, text: &[u8]) -> Result<M> {
        M::decode_body_or_else::<C, _>(mtype, text, |reason| match batch::batch_variant(&reason) {
            Some(variant) => self.pending.unpack::<M, C>(variant, mtype, text),
            None => Err(Error::Decode(DecodeError::new(mtype, text, reason))),
        })
    }

    /// A blocking iterator over received messages.
    ///
    /// It ends when the queue is removed or a stop is requested. A message
    /// that cannot be decoded is an `Err` item, and the iterator goes on after
    /// it, since the message is off the queue. Any other error (no permission
    /// to read, say) would only come again: it is the last item.
    ///
    /// # Examples
    ///
    /// ```
    /// # use ipcq::{Key, QueueMessage, TypedQueue};
    /// # #[derive(QueueMessage, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// # enum Cmd { Job(u32) }
    /// let q = TypedQueue::<Cmd>::create(Key::private())?;
    /// let consumer = {
    ///     let q = q.clone();
    ///     std::thread::spawn(move || q.iter().map(Result::unwrap).collect::<Vec<_>>())
    /// };
    /// for n in 0..3 {
    ///     q.send(Cmd::Job(n))?;
    /// }
    /// while q.stat()?.messages > 0 {
    ///     std::thread::yield_now();
    /// }
    /// q.remove()?; // ends the consumer's iterator
    /// assert_eq!(consumer.join().unwrap(), [Cmd::Job(0), Cmd::Job(1), Cmd::Job(2)]);
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn iter(&self) -> Iter<'_, M, C> {
        Iter {
            queue: self,
            wait: Wait::Forever,
            done: false,
        }
    }

    /// An iterator over the messages waiting now; it never blocks.
    pub fn try_iter(&self) -> Iter<'_, M, C> {
        Iter {
            queue: self,
            wait: Wait::No,
            done: false,
        }
    }

    /// Runs a worker loop: receives each message and hands it to the handler
    /// method for its variant. [`serve_by`](Self::serve_by) serves only what a
    /// [`Selector`] picks.
    ///
    /// Returns `Ok(())` when the queue is removed or a stop is requested
    /// through the queue's [`StopHandle`]. A message that has been received
    /// is always handled before the loop returns, messages buffered from a
    /// batch included. Any other error ends the loop and is returned; for a
    /// [`Error::Decode`] the undecodable message is in the error and the loop
    /// can simply be called again.
    ///
    /// A handler ends the loop by removing the queue, or by stopping its
    /// [`StopHandle`] ([`serve_by`](Self::serve_by)'s example). A stop stays
    /// in force: until [`StopHandle::reset`], every blocking call through a
    /// handle it is attached to returns [`Error::Stopped`] at once, so a
    /// program that serves again, or sends with [`send`](Self::send), resets
    /// it first.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv), except removal and stop.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipcq::{Key, QueueMessage, TypedQueue};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(QueueMessage, Serialize, Deserialize)]
    /// enum Cmd {
    ///     Add(u64),
    ///     Quit,
    /// }
    ///
    /// struct Summer<'q> {
    ///     total: u64,
    ///     queue: &'q TypedQueue<Cmd>,
    /// }
    ///
    /// impl CmdHandler for Summer<'_> {
    ///     fn add(&mut self, n: u64) {
    ///         self.total += n;
    ///     }
    ///     fn quit(&mut self) {
    ///         self.queue.remove().unwrap(); // ends serve()
    ///     }
    /// }
    ///
    /// let q = TypedQueue::<Cmd>::create(Key::private())?;
    /// for msg in [Cmd::Add(1), Cmd::Add(2), Cmd::Quit] {
    ///     q.send(msg)?;
    /// }
    /// let mut summer = Summer { total: 0, queue: &q };
    /// q.serve(&mut summer)?;
    /// assert_eq!(summer.total, 3);
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn serve<H>(&self, handler: &mut H) -> Result<()>
    where
        H: ?Sized,
        M: Dispatch<H>,
    {
        self.serve_by(Selector::Any, handler)
    }

    /// Runs a worker loop, as [`serve`](Self::serve) does, over the messages
    /// `selector` picks: one variant ([`Selector::kind`]), the most urgent
    /// first ([`Selector::up_to`]), or all but one ([`Selector::except`]).
    /// Other messages stay on the kernel queue for other receivers. Messages
    /// of a batch this handle received (see [Batches](Self#batches)) that
    /// the selector does not pick stay in its buffer ([`pending`](Self::pending))
    /// for a later receive through it or a clone; those it picks are handled
    /// before the loop returns.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    ///
    /// # Examples
    ///
    /// A worker for jobs only, which leaves the log lines to another:
    ///
    /// ```
    /// use ipcq::{Key, QueueMessage, Selector, TypedQueue};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    /// enum Cmd {
    ///     Job(u64),
    ///     Log(String),
    /// }
    ///
    /// struct Jobs<'q> {
    ///     done: Vec<u64>,
    ///     queue: &'q TypedQueue<Cmd>,
    /// }
    ///
    /// impl CmdHandler for Jobs<'_> {
    ///     fn job(&mut self, id: u64) {
    ///         self.done.push(id);
    ///         if id == 2 {
    ///             self.queue.stop_handle().unwrap().stop(); // ends serve_by()
    ///         }
    ///     }
    ///     fn log(&mut self, _: String) {
    ///         unreachable!("this worker takes jobs only");
    ///     }
    /// }
    ///
    /// let q = TypedQueue::<Cmd>::create(Key::private())?.with_stop(ipcq::StopHandle::new());
    /// q.send(Cmd::Log("started".into()))?;
    /// q.send(Cmd::Job(1))?;
    /// q.send(Cmd::Job(2))?;
    /// let mut jobs = Jobs { done: vec![], queue: &q };
    /// q.serve_by(Selector::kind(CmdKind::Job), &mut jobs)?;
    /// assert_eq!(jobs.done, [1, 2]);
    /// assert_eq!(q.try_recv()?, Some(Cmd::Log("started".into())));
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn serve_by<H>(&self, selector: Selector, handler: &mut H) -> Result<()>
    where
        H: ?Sized,
        M: Dispatch<H>,
    {
        self.serve_fn_by(selector, |msg| msg.dispatch(handler))
    }

    /// Runs a worker loop with a closure for every message, as [`serve`](Self::serve) does.
    ///
    /// A loop that ends on a message of its own is a `for` over the queue,
    /// which ends on a stop or the queue's removal as this does, and hands
    /// over each undecodable message as an `Err` item and goes on after it
    /// (`?` on the item would end the loop there instead):
    ///
    /// ```
    /// # use ipcq::{Key, QueueMessage, TypedQueue};
    /// # #[derive(QueueMessage, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// # enum Cmd { Add(u64), Quit }
    /// let q = TypedQueue::<Cmd>::create(Key::private())?;
    /// for msg in [Cmd::Add(1), Cmd::Add(2), Cmd::Quit, Cmd::Add(4)] {
    ///     q.send(msg)?;
    /// }
    /// let mut total = 0;
    /// for msg in &q {
    ///     match msg {
    ///         Ok(Cmd::Add(n)) => total += n,
    ///         Ok(Cmd::Quit) => break,
    ///         Err(e) => eprintln!("skipped: {e}"),
    ///     }
    /// }
    /// assert_eq!((total, q.recv()?), (3, Cmd::Add(4)));
    /// # q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    pub fn serve_fn(&self, handle: impl FnMut(M)) -> Result<()> {
        self.serve_fn_by(Selector::Any, handle)
    }

    /// Runs a worker loop with a closure for every message `selector` picks,
    /// as [`serve_by`](Self::serve_by) does.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    pub fn serve_fn_by(&self, selector: Selector, mut handle: impl FnMut(M)) -> Result<()> {
        loop {
            match self.recv_by(selector) {
                Ok(msg) => handle(msg),
                Err(e) if e.is_removed() || e.is_stopped() => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// The queue's status (see [`MsgQueue::stat`]).
    ///
    /// # Errors
    ///
    /// As [`MsgQueue::stat`].
    pub fn stat(&self) -> Result<QueueStat> {
        self.queue.stat()
    }

    /// Removes the queue, dropping pending messages and waking every blocked
    /// sender and receiver with [`Error::Removed`].
    ///
    /// # Errors
    ///
    /// As [`MsgQueue::remove`].
    pub fn remove(&self) -> Result<()> {
        self.queue.remove()
    }
}

/// The iterator of [`TypedQueue::iter`] and [`TypedQueue::try_iter`].
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Iter<'q, M, C = Bincode> {
    queue: &'q TypedQueue<M, C>,
    wait: Wait,
    /// Set after an error that would recur: the next call ends the iteration
    /// rather than spin on it.
    done: bool,
}

impl<M: QueueMessage, C: Codec> Iterator for Iter<'_, M, C> {
    type Item = Result<M>;

    fn next(&mut self) -> Option<Result<M>> {
        if self.done {
            return None;
        }
        match self.queue.recv_wait(Selector::Any, self.wait) {
            Ok(msg) => msg.map(Ok),
            Err(e) if e.is_removed() || e.is_stopped() => {
                self.done = true;
                None
            }
            Err(e @ Error::Decode(_)) => Some(Err(e)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// `for msg in &queue` receives as [`TypedQueue::iter`] does.
impl<'q, M: QueueMessage, C: Codec> IntoIterator for &'q TypedQueue<M, C> {
    type Item = Result<M>;
    type IntoIter = Iter<'q, M, C>;

    fn into_iter(self) -> Iter<'q, M, C> {
        self.iter()
    }
}

impl<M, C> fmt::Debug for Iter<'_, M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("queue", self.queue)
            .field("wait", &self.wait)
            .field("done", &self.done)
            .finish()
    }
}

/// A failed send that hands the message back, so that nothing is lost.
///
/// Converts into [`Error`] with `?` (dropping the message). A send by
/// reference returns a `SendError<&M>`, which borrows the message and so
/// cannot become a `Box<dyn std::error::Error>` or an `anyhow::Error`:
/// `.map_err(ipcq::Error::from)?` converts it first.
pub struct SendError<T> {
    error: Error,
    message: T,
}

impl<T> SendError<T> {
    fn new(error: Error, message: T) -> Self {
        SendError { error, message }
    }

    /// Whether the queue was full (a non-blocking send).
    pub fn is_full(&self) -> bool {
        self.error.is_would_block()
    }

    /// Whether the queue stayed full until the timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.error, Error::TimedOut { .. })
    }

    /// What went wrong.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The message that was not sent.
    pub fn into_message(self) -> T {
        self.message
    }

    /// The error and the message that was not sent.
    pub fn into_parts(self) -> (Error, T) {
        (self.error, self.message)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T> std::error::Error for SendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// As [`Error`]'s conversion, dropping the message.
impl<T> From<SendError<T>> for std::io::Error {
    fn from(e: SendError<T>) -> std::io::Error {
        e.error.into()
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Error {
        e.error
    }
}

impl From<DecodeError> for Message {
    fn from(e: DecodeError) -> Message {
        e.into_message()
    }
}
