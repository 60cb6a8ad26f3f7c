//! mqcli's optional native fast path: the hot loop of `mqcli kafka produce`
//! for line/whole input, on librdkafka (built from the source rdkafka-sys
//! ships).
//!
//! One librdkafka producer (`NativeProducer`) does the whole run: the
//! connection check and the topic check (metadata and the client's error
//! reports handed to Python as codes and texts: Python keeps the words and
//! exit codes, shared with the librdkafka engine), then the loop, which does
//! what costs per message: splitting the input into records (and keys),
//! handing them to librdkafka, and counting the delivery reports.
//! Every failed message comes back to Python with its input line number
//! (`sink.failed`), so the report says exactly what the Python engines say.
//!
//! The sink (a Python object) has:
//!   invalid(line)                         a record without the key separator
//!                                         (raises to stop, as the reader does)
//!   failed(line | None, name | None, why) one message not delivered
//!   progress(delivered, failed, bytes, handed_line)
//!   fatal(code, name, why)                a fatal client error (raises)
//! Any exception from the sink, or from a signal handler (Ctrl-C, SIGTERM),
//! stops reading; what was handed to librdkafka is still waited for (a second
//! signal purges it) and reported before the exception goes back to Python.

mod consume;

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use memchr::memmem;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rdkafka::bindings as rdsys;
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::{ClientConfig, FromClientConfigAndContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};

/// How much of the input is asked for per read (as mqcli.core.readers.CHUNK).
const CHUNK: usize = 1 << 16;
/// Serve delivery reports after this many messages handed over (a poll per
/// message would cost more than the send).
const POLL_EVERY: u64 = 256;
/// Records handed to librdkafka per rd_kafka_produce_batch call: one topic
/// lock, one clock reading and no topic lookup per batch instead of per
/// record (the per-record producev call did all three).
const BATCH: usize = 256;
/// librdkafka's RD_KAFKA_PARTITION_UA: the partitioner chooses.
const PARTITION_UA: i32 = -1;
/// How long one wait for delivery reports lasts when the window is full
/// (BaseProducer::poll waits out its whole timeout, so it is kept short:
/// room made early in a long wait would sit unused).
const WAIT_STEP: Duration = Duration::from_millis(1);
/// Progress goes to Python at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// A failure as librdkafka names it: (input line, error name, error text).
type Failure = (u64, Option<String>, String);

/// Counts kept by the delivery callback, which runs inside poll() on the
/// calling thread (atomics only because librdkafka's context must be Sync).
#[derive(Default)]
struct Counts {
    settled: AtomicU64,
    settled_bytes: AtomicU64,
    failed: AtomicU64,
    failed_bytes: AtomicU64,
    failures: Mutex<Vec<Failure>>,
    /// The client's error reports (code, text), the last ERRORS_KEPT: what
    /// Python's Diagnosis ranks to name a failed connection's cause.
    errors: Mutex<Vec<(i32, String)>>,
}

/// A retrying client reports the same failure again and again.
const ERRORS_KEPT: usize = 20;

impl ClientContext for Counts {
    // librdkafka's log lines and errors stay quiet, as with the Python
    // engines without --debug; a fatal one is kept and reported.
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        self.report(code.map_or(-1, |c| c as i32), reason.to_string());
    }
}

// The consumer of `kafka consume` (consume::NativeConsumer) keeps its error
// reports in the same place; the delivery counts stay unused there.
impl rdkafka::consumer::ConsumerContext for Counts {}

impl Counts {
    /// Keep one error report of the client.
    fn report(&self, code: i32, text: String) {
        let entry = (code, text);
        let mut errors = self.errors.lock().unwrap();
        // A retrying client repeats itself ("1/1 brokers are down" after each
        // attempt): repeats would push the one report that names the cause
        // (a certificate that does not verify) out of the window.
        if errors.contains(&entry) {
            return;
        }
        errors.push(entry);
        let excess = errors.len().saturating_sub(ERRORS_KEPT);
        errors.drain(..excess);
    }
}

impl ProducerContext for Counts {
    type DeliveryOpaque = usize; // the input line

    fn delivery(&self, result: &DeliveryResult<'_>, line: usize) {
        let (msg, err) = match result {
            Ok(m) => (m, None),
            Err((e, m)) => (m, Some(e)),
        };
        let size = (msg.payload().map_or(0, <[u8]>::len) + msg.key().map_or(0, <[u8]>::len)) as u64;
        self.settled.fetch_add(1, Relaxed);
        self.settled_bytes.fetch_add(size, Relaxed);
        if let Some(e) = err {
            self.failed.fetch_add(1, Relaxed);
            self.failed_bytes.fetch_add(size, Relaxed);
            let (name, text) = describe(e);
            self.failures
                .lock()
                .unwrap()
                .push((line as u64, name, text));
        }
    }
}

/// librdkafka's name and text of an error code ("MSG_SIZE_TOO_LARGE", "Broker: Message size too large").
fn code_names(code: RDKafkaErrorCode) -> (Option<String>, String) {
    match rdsys::rd_kafka_resp_err_t::try_from(code as i32) {
        Ok(raw) => unsafe {
            let name = CStr::from_ptr(rdsys::rd_kafka_err2name(raw))
                .to_string_lossy()
                .into_owned();
            let text = CStr::from_ptr(rdsys::rd_kafka_err2str(raw))
                .to_string_lossy()
                .into_owned();
            (Some(name), text)
        },
        Err(_) => (None, code.to_string()),
    }
}

fn describe(e: &KafkaError) -> (Option<String>, String) {
    match e.rdkafka_error_code() {
        Some(code) => code_names(code),
        None => (None, e.to_string()),
    }
}

fn is_purged(name: &Option<String>) -> bool {
    matches!(
        name.as_deref(),
        Some("_PURGE_QUEUE") | Some("_PURGE_INFLIGHT")
    )
}

/// Records split out of a stream of chunks by a delimiter, as
/// mqcli.core.readers.split_records does: a final record without a trailing
/// delimiter counts, a trailing delimiter makes no extra empty record.
struct Splitter {
    buf: Vec<u8>,
    start: usize, // where the unfinished record begins in buf
    scan: usize,  // where to look for the next delimiter
}

impl Splitter {
    fn new() -> Self {
        Splitter {
            buf: Vec::with_capacity(CHUNK * 2),
            start: 0,
            scan: 0,
        }
    }

    /// Append a chunk, first dropping the records already handed out.
    fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete record (start, end) in buf, if any.
    fn next(&mut self, finder: &memmem::Finder<'_>) -> Option<(usize, usize)> {
        let dlen = finder.needle().len();
        match finder.find(&self.buf[self.scan..]) {
            Some(i) => {
                let (s, e) = (self.start, self.scan + i);
                self.start = e + dlen;
                self.scan = self.start;
                Some((s, e))
            }
            None => {
                // A delimiter may straddle this chunk and the next one.
                self.scan = self.buf.len().saturating_sub(dlen - 1).max(self.start);
                None
            }
        }
    }

    /// What is left at the end of a stream (a record without a trailing delimiter).
    fn rest(&mut self) -> Option<Vec<u8>> {
        let rest = self.buf[self.start..].to_vec();
        self.buf.clear();
        self.start = 0;
        self.scan = 0;
        if rest.is_empty() {
            None
        } else {
            Some(rest)
        }
    }
}

/// What every message gets: fixed for the run (apart from the loop's state,
/// so that records can borrow from it while the loop changes).
struct Shape {
    topic: String,
    key_separator: Option<Vec<u8>>,
    default_key: Option<Vec<u8>>,
    headers: Option<OwnedHeaders>,
    partition: Option<i32>,
}

struct Loop<'a, 'py> {
    py: Python<'py>,
    producer: &'a BaseProducer<Counts>,
    max_in_flight: u64,
    max_bytes: u64,
    wait: Duration,
    timeout_why: String,
    sink: Bound<'py, PyAny>,
    line: u64,
    handed: u64,
    handed_bytes: u64,
    refused: u64,
    handed_line: u64,
    purged_because: Option<String>,
    last_progress: Instant,
    /// The topic's handle for rd_kafka_produce_batch; None with headers
    /// (the batch call takes none), which go one by one through producev.
    rkt: Option<Topic>,
    /// Records split out but not handed over yet: they point into the
    /// input buffer, so they are handed over (`flush`) before it changes.
    pending: Vec<rdsys::rd_kafka_message_t>,
    /// Records handed over since delivery reports were last served.
    unpolled: u64,
}

/// A librdkafka topic handle, destroyed with the run.
struct Topic(*mut rdsys::rd_kafka_topic_t);

impl Topic {
    fn new(producer: &BaseProducer<Counts>, name: &str) -> PyResult<Self> {
        let cname = CString::new(name).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let rkt = unsafe {
            rdsys::rd_kafka_topic_new(
                producer.client().native_ptr(),
                cname.as_ptr(),
                std::ptr::null_mut(),
            )
        };
        if rkt.is_null() {
            return Err(PyValueError::new_err(format!("invalid topic {name:?}")));
        }
        Ok(Topic(rkt))
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        // Messages still queued keep their own reference to the topic.
        unsafe { rdsys::rd_kafka_topic_destroy(self.0) };
    }
}

impl<'a, 'py> Loop<'a, 'py> {
    fn counts(&self) -> &Counts {
        self.producer.context()
    }

    fn settled(&self) -> (u64, u64) {
        (
            self.counts().settled.load(Relaxed),
            self.counts().settled_bytes.load(Relaxed),
        )
    }

    /// Serve delivery reports for up to `timeout` (the GIL released while
    /// waiting), then pass the failures to the sink.
    fn poll(&mut self, timeout: Duration) -> PyResult<()> {
        let producer = self.producer;
        if timeout.is_zero() {
            // BaseProducer::poll serves one event (a batch of reports) per call.
            let mut last = u64::MAX;
            for _ in 0..64 {
                let now = producer.context().settled.load(Relaxed);
                if now == last {
                    break;
                }
                last = now;
                producer.poll(Duration::ZERO);
            }
        } else {
            self.py.detach(|| producer.poll(timeout));
        }
        self.report_failures()
    }

    fn report_failures(&mut self) -> PyResult<()> {
        let failures = std::mem::take(&mut *self.counts().failures.lock().unwrap());
        if failures.is_empty() {
            return Ok(());
        }
        self.progress()?;
        for (line, name, text) in failures {
            let (name, text) = match &self.purged_because {
                Some(why) if is_purged(&name) => (None, why.clone()),
                _ => (name, text),
            };
            self.sink.call_method1("failed", (line, name, text))?;
        }
        Ok(())
    }

    fn progress(&mut self) -> PyResult<()> {
        self.last_progress = Instant::now();
        let c = self.counts();
        let (settled, settled_bytes) = (c.settled.load(Relaxed), c.settled_bytes.load(Relaxed));
        let (failed, failed_bytes) = (c.failed.load(Relaxed), c.failed_bytes.load(Relaxed));
        self.sink.call_method1(
            "progress",
            (
                settled - failed,
                failed + self.refused,
                settled_bytes - failed_bytes,
                self.handed_line,
            ),
        )?;
        Ok(())
    }

    /// A fatal client error (e.g. an idempotent producer id the ACLs refuse)
    /// goes to the sink as librdkafka's underlying (code, text): it raises.
    fn check_fatal(&self) -> PyResult<()> {
        if let Some((code, name, text)) = fatal_error(self.producer.client()) {
            self.sink.call_method1("fatal", (code, name, text))?;
        }
        Ok(())
    }

    /// Serve delivery reports until at most `max_messages` / `max_size` are
    /// outstanding; purge them all when no report comes for `wait`.
    fn wait_below(&mut self, max_messages: u64, max_size: u64) -> PyResult<()> {
        let (mut seen, _) = self.settled();
        let mut deadline = Instant::now() + self.wait;
        loop {
            let (settled, settled_bytes) = self.settled();
            if self.handed - settled <= max_messages
                && self.handed_bytes - settled_bytes <= max_size
            {
                return Ok(());
            }
            self.poll(WAIT_STEP)?;
            self.check_fatal()?;
            self.py.check_signals()?;
            let (settled, _) = self.settled();
            if settled > seen {
                seen = settled;
                deadline = Instant::now() + self.wait;
            } else if Instant::now() > deadline {
                let why = self.timeout_why.clone();
                self.abandon(why)?;
            }
            if self.last_progress.elapsed() > PROGRESS_EVERY {
                self.progress()?;
            }
        }
    }

    /// Take back everything still outstanding: each comes back as a failed
    /// delivery report, said with `why`.
    fn abandon(&mut self, why: String) -> PyResult<()> {
        self.purged_because = Some(why);
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.handed > self.settled().0 && Instant::now() < deadline {
            self.poll(WAIT_STEP)?;
        }
        let settled = self.settled().0;
        if self.handed > settled {
            // librdkafka promises a report for every message: not expected.
            let lost = self.handed - settled;
            let c = self.counts();
            c.settled.fetch_add(lost, Relaxed);
            c.failed.fetch_add(lost, Relaxed);
            self.progress()?;
            self.sink.call_method1(
                "failed",
                (
                    None::<u64>,
                    None::<String>,
                    format!("{lost} message(s) got no delivery report"),
                ),
            )?;
        }
        Ok(())
    }

    /// Take one record: queued for the next batch (`flush` hands it over;
    /// `record` must stay where it is until then), or, with headers, handed
    /// to librdkafka at once (waiting while its queue is full).
    fn send(&mut self, shape: &Shape, record: &[u8]) -> PyResult<()> {
        self.line += 1;
        let line = self.line;
        let (key, value): (Option<&[u8]>, &[u8]) = match &shape.key_separator {
            Some(sep) => match memmem::find(record, sep) {
                Some(i) => (Some(&record[..i]), &record[i + sep.len()..]),
                None => {
                    // The records before it are handed over first: the sink
                    // raises (stop) or counts it as skipped.
                    self.flush(shape)?;
                    self.sink.call_method1("invalid", (line,))?;
                    return Ok(());
                }
            },
            None => (shape.default_key.as_deref(), record),
        };
        if self.rkt.is_some() {
            let (key_ptr, key_len) = key.map_or((std::ptr::null_mut(), 0), |k| {
                (k.as_ptr() as *mut c_void, k.len())
            });
            self.pending.push(rdsys::rd_kafka_message_t {
                err: rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                rkt: std::ptr::null_mut(),
                partition: 0,
                payload: value.as_ptr() as *mut c_void,
                len: value.len(),
                key: key_ptr,
                key_len,
                offset: 0,
                _private: line as usize as *mut c_void,
            });
            if self.pending.len() >= BATCH {
                self.flush(shape)?;
            }
            return Ok(());
        }
        let size = (value.len() + key.map_or(0, <[u8]>::len)) as u64;
        loop {
            let mut rec: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(&shape.topic, line as usize).payload(value);
            if let Some(k) = key {
                rec = rec.key(k);
            }
            if let Some(p) = shape.partition {
                rec = rec.partition(p);
            }
            if let Some(h) = &shape.headers {
                rec = rec.headers(h.clone());
            }
            match self.producer.send(rec) {
                Ok(()) => {
                    self.handed += 1;
                    self.handed_bytes += size;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's queue is full (its bound is near ours): wait for room.
                    self.poll(WAIT_STEP)?;
                    self.py.check_signals()?;
                    continue;
                }
                Err((e, _)) => {
                    self.refused += 1;
                    let (name, text) = describe(&e);
                    self.progress()?;
                    self.sink.call_method1("failed", (line, name, text))?;
                }
            }
            break;
        }
        // Set only now: a signal before the handover leaves the resume line on
        // this record (sent again), never past it (lost).
        self.handed_line = line;
        self.unpolled += 1;
        self.served()
    }

    /// Every POLL_EVERY records handed over: serve delivery reports, and wait
    /// while the window is full.
    fn served(&mut self) -> PyResult<()> {
        if self.unpolled < POLL_EVERY {
            return Ok(());
        }
        self.unpolled = 0;
        self.poll(Duration::ZERO)?;
        self.check_fatal()?;
        self.py.check_signals()?;
        if self.last_progress.elapsed() > PROGRESS_EVERY {
            self.progress()?;
        }
        let (settled, settled_bytes) = self.settled();
        if self.handed - settled > self.max_in_flight
            || self.handed_bytes - settled_bytes > self.max_bytes
        {
            self.wait_below(self.max_in_flight, self.max_bytes)?;
        }
        Ok(())
    }

    /// Hand the pending records to librdkafka in one call per batch (waiting
    /// while its queue is full); each one it refuses goes to the sink by line.
    fn flush(&mut self, shape: &Shape) -> PyResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // Taken out whatever happens: an error leaves the rest not handed
        // over (handed_line says where to resume), never pointing into a
        // buffer that is gone.
        let mut batch = std::mem::take(&mut self.pending);
        let handed = self.hand_over(shape, &mut batch);
        batch.clear();
        self.pending = batch;
        handed?;
        self.served()
    }

    fn hand_over(
        &mut self,
        shape: &Shape,
        batch: &mut [rdsys::rd_kafka_message_t],
    ) -> PyResult<()> {
        use rdsys::rd_kafka_resp_err_t::{
            RD_KAFKA_RESP_ERR_NO_ERROR as OK, RD_KAFKA_RESP_ERR__QUEUE_FULL as FULL,
        };
        let rkt = self.rkt.as_ref().map_or(std::ptr::null_mut(), |t| t.0);
        let partition = shape.partition.unwrap_or(PARTITION_UA);
        let mut start = 0;
        while start < batch.len() {
            let rest = &mut batch[start..];
            for m in rest.iter_mut() {
                m.err = OK;
            }
            // F_COPY: librdkafka copies each record, the input buffer is reused.
            unsafe {
                rdsys::rd_kafka_produce_batch(
                    rkt,
                    partition,
                    rdsys::RD_KAFKA_MSG_F_COPY as c_int,
                    rest.as_mut_ptr(),
                    rest.len() as c_int,
                )
            };
            let mut full = None;
            for (i, m) in rest.iter().enumerate() {
                let line = m._private as usize as u64;
                match m.err {
                    OK => {
                        self.handed += 1;
                        self.handed_bytes += (m.len + m.key_len) as u64;
                    }
                    // librdkafka's queue is full (its bound is near ours):
                    // this record and all after it were refused; wait for room.
                    FULL => {
                        full = Some(start + i);
                        break;
                    }
                    err => {
                        self.refused += 1;
                        let (_, name, text) = error_tuple(err as i32);
                        self.progress()?;
                        self.sink.call_method1("failed", (line, name, text))?;
                    }
                }
                // As in send: the resume line never passes a record not handed over.
                self.handed_line = line;
                self.unpolled += 1;
            }
            match full {
                None => break,
                Some(i) => {
                    start = i;
                    self.poll(WAIT_STEP)?;
                    self.py.check_signals()?;
                }
            }
        }
        Ok(())
    }

    /// Read every stream and send its records.
    fn run(
        &mut self,
        shape: &Shape,
        streams: &[Bound<'py, PyAny>],
        values: &[Vec<u8>],
        delimiter: &[u8],
        whole: bool,
    ) -> PyResult<()> {
        // Values given as arguments: one record each, empty ones too (as the reader's values).
        for value in values {
            self.send(shape, value)?;
        }
        self.flush(shape)?;
        let finder = memmem::Finder::new(delimiter).into_owned();
        for stream in streams {
            if whole {
                let data = stream.call_method0("read")?;
                let data = data.cast::<PyBytes>()?.as_bytes().to_vec();
                if !data.is_empty() {
                    self.send(shape, &data)?;
                    self.flush(shape)?;
                }
                continue;
            }
            let read = match stream.getattr("read1") {
                Ok(f) => f,
                Err(_) => stream.getattr("read")?,
            };
            let mut splitter = Splitter::new();
            loop {
                // read1: whatever has arrived, so a slow pipe (`tail -f`) sends
                // each record as soon as it is complete.  Python's read runs the
                // signal handlers (Ctrl-C) itself and raises.
                let chunk = read.call1((CHUNK,))?;
                let chunk = chunk.cast::<PyBytes>()?.as_bytes();
                if chunk.is_empty() {
                    break;
                }
                splitter.push(chunk);
                while let Some((s, e)) = splitter.next(&finder) {
                    // The record stays in splitter.buf until the flush below.
                    self.send(shape, &splitter.buf[s..e])?;
                }
                // Before the next read changes the buffer.
                self.flush(shape)?;
            }
            if let Some(rest) = splitter.rest() {
                self.send(shape, &rest)?;
                self.flush(shape)?;
            }
        }
        Ok(())
    }

    /// After the run, however it ended: every message handed over gets its
    /// report before we return (a second signal purges what is left).
    fn finish(&mut self) -> PyResult<()> {
        // Not handed over (the run stopped before its flush): never sent,
        // and their buffer may be gone.
        self.pending.clear();
        let waited = if self.handed > self.settled().0 {
            self.wait_below(0, 0)
        } else {
            Ok(())
        };
        let abandoned = if self.handed > self.settled().0 {
            self.abandon("not delivered before mqcli stopped".to_string())
        } else {
            Ok(())
        };
        let reported = self.report_failures();
        let progressed = self.progress();
        // A fatal error (an idempotent producer id the ACLs refuse) purges
        // what was queued: the messages are named above, the cause here.
        // The waits check for one only while reports are outstanding.
        let fatal = self.check_fatal();
        waited
            .and(abandoned)
            .and(reported)
            .and(progressed)
            .and(fatal)
    }
}

/// The underlying error of a fatal client error: (code, name, text).
fn fatal_error(client: &Client<Counts>) -> Option<(i32, Option<String>, String)> {
    // Asked of librdkafka itself (an atomic read there), not of the error
    // callback: a fatal error's delivery reports (_FATAL) can be served
    // before its error event is.
    let mut buf = [0 as c_char; 512];
    let code =
        unsafe { rdsys::rd_kafka_fatal_error(client.native_ptr(), buf.as_mut_ptr(), buf.len()) };
    if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return None;
    }
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    let name = code_name(code as i32);
    Some((code as i32, name, text))
}

/// librdkafka's name of a raw error code ("_TRANSPORT").
fn code_name(code: i32) -> Option<String> {
    match rdsys::rd_kafka_resp_err_t::try_from(code) {
        Ok(raw) => Some(
            unsafe { CStr::from_ptr(rdsys::rd_kafka_err2name(raw)) }
                .to_string_lossy()
                .into_owned(),
        ),
        Err(_) => None,
    }
}

/// An error as Python's RdError takes it: (code, name, text).
type ErrorTuple = (i32, Option<String>, String);

fn error_tuple(code: i32) -> ErrorTuple {
    let text = match rdsys::rd_kafka_resp_err_t::try_from(code) {
        Ok(raw) => unsafe { CStr::from_ptr(rdsys::rd_kafka_err2str(raw)) }
            .to_string_lossy()
            .into_owned(),
        Err(_) => format!("error {code}"),
    };
    (code, code_name(code), text)
}

/// One topic of a metadata answer: (name, error, partition ids).
type TopicTuple = (String, Option<ErrorTuple>, Vec<i32>);

/// A librdkafka client with `config`; ValueError (librdkafka's words) when it refuses them.
fn create<T: FromClientConfigAndContext<Counts>>(config: &[(String, String)]) -> PyResult<T> {
    let mut cfg = ClientConfig::new();
    for (k, v) in config {
        cfg.set(k, v);
    }
    cfg.create_with_context(Counts::default())
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A failed request's error as Python's NativeError takes it.
fn request_error(e: &KafkaError) -> ErrorTuple {
    error_tuple(e.rdkafka_error_code().map_or(-1, |c| c as i32))
}

/// The error reports of `client` since the last call: [(code, name, text, fatal)],
/// a fatal one as its underlying error (as confluent-kafka's error_cb gives it).
fn take_errors(client: &Client<Counts>) -> Vec<(i32, Option<String>, String, bool)> {
    let taken = std::mem::take(&mut *client.context().errors.lock().unwrap());
    taken
        .into_iter()
        .map(|(code, text)| {
            if code == RDKafkaErrorCode::Fatal as i32 {
                if let Some((c, name, t)) = fatal_error(client) {
                    return (c, name, t, true);
                }
            }
            (code, code_name(code), text, false)
        })
        .collect()
}

/// Cluster metadata (of one topic, or all): (error, topics); the request's
/// error (code, name, text) or None, and [(topic, error or None, partitions)].
fn metadata(
    py: Python<'_>,
    client: &Client<Counts>,
    topic: Option<String>,
    timeout: f64,
) -> (Option<ErrorTuple>, Vec<TopicTuple>) {
    let timeout = Duration::from_secs_f64(timeout.max(0.0));
    let answer = py.detach(|| client.fetch_metadata(topic.as_deref(), timeout));
    match answer {
        Ok(md) => {
            let topics = md
                .topics()
                .iter()
                .map(|t| {
                    let err = t.error().map(|e| error_tuple(e as i32));
                    (
                        t.name().to_string(),
                        err,
                        t.partitions().iter().map(|p| p.id()).collect(),
                    )
                })
                .collect();
            (None, topics)
        }
        Err(e) => (Some(request_error(&e)), Vec::new()),
    }
}

/// One librdkafka producer for a whole `kafka produce` run: the connection
/// check, the topic check and the loop (Python maps its errors to mqcli's,
/// as for the librdkafka engine, from the codes and texts it hands back).
#[pyclass(module = "mqcli_native")]
struct NativeProducer {
    producer: BaseProducer<Counts>,
}

#[pymethods]
impl NativeProducer {
    /// A producer with librdkafka's `config`; ValueError (librdkafka's words) when it refuses them.
    #[new]
    fn new(config: Vec<(String, String)>) -> PyResult<Self> {
        Ok(NativeProducer {
            producer: create(&config)?,
        })
    }

    /// Serve the client's events (error reports) for up to `timeout` seconds;
    /// with 0, what is queued (BaseProducer::poll serves one event per call).
    fn poll(&self, py: Python<'_>, timeout: f64) {
        let producer = &self.producer;
        if timeout <= 0.0 {
            for _ in 0..64 {
                producer.poll(Duration::ZERO);
            }
            return;
        }
        let timeout = Duration::from_secs_f64(timeout);
        py.detach(|| producer.poll(timeout));
    }

    /// The error reports since the last call: [(code, name, text, fatal)],
    /// a fatal one as its underlying error (as confluent-kafka's error_cb gives it).
    fn errors(&self) -> Vec<(i32, Option<String>, String, bool)> {
        take_errors(self.producer.client())
    }

    /// The fatal error, if one happened: (code, name, text).
    fn fatal(&self) -> Option<ErrorTuple> {
        fatal_error(self.producer.client())
    }

    /// Cluster metadata (of one topic, or all): (error, topics); the request's
    /// error (code, name, text) or None, and [(topic, error or None, partitions)].
    fn metadata(
        &self,
        py: Python<'_>,
        topic: Option<String>,
        timeout: f64,
    ) -> (Option<ErrorTuple>, Vec<TopicTuple>) {
        metadata(py, self.producer.client(), topic, timeout)
    }

    /// Produce the records of `values` (arguments), then of `streams` (Python
    /// binary files), to `topic`; see the module documentation for `sink`.
    /// Returns the last input line handed over.
    #[pyo3(signature = (topic, streams, values, delimiter, key_separator, whole, default_key, headers, partition, max_in_flight, max_bytes, wait, timeout_why, sink))]
    #[allow(clippy::too_many_arguments)]
    fn produce<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        streams: Vec<Bound<'py, PyAny>>,
        values: Vec<Vec<u8>>,
        delimiter: Vec<u8>,
        key_separator: Option<Vec<u8>>,
        whole: bool,
        default_key: Option<Vec<u8>>,
        headers: Vec<(String, Vec<u8>)>,
        partition: Option<i32>,
        max_in_flight: u64,
        max_bytes: u64,
        wait: f64,
        timeout_why: String,
        sink: Bound<'py, PyAny>,
    ) -> PyResult<u64> {
        if delimiter.is_empty() {
            return Err(PyValueError::new_err("empty delimiter"));
        }
        let headers = if headers.is_empty() {
            None
        } else {
            let mut h = OwnedHeaders::new_with_capacity(headers.len());
            for (k, v) in &headers {
                h = h.insert(Header {
                    key: k,
                    value: Some(v),
                });
            }
            Some(h)
        };
        let shape = Shape {
            topic,
            key_separator,
            default_key,
            headers,
            partition,
        };
        let mut run = Loop {
            py,
            producer: &self.producer,
            max_in_flight: max_in_flight.max(1),
            max_bytes,
            wait: Duration::from_secs_f64(wait.max(0.0)),
            timeout_why,
            sink,
            line: 0,
            handed: 0,
            handed_bytes: 0,
            refused: 0,
            handed_line: 0,
            purged_because: None,
            last_progress: Instant::now(),
            rkt: if shape.headers.is_none() {
                Some(Topic::new(&self.producer, &shape.topic)?)
            } else {
                None
            },
            pending: Vec::with_capacity(BATCH),
            unpolled: 0,
        };
        let ran = run.run(&shape, &streams, &values, &delimiter, whole);
        let finished = run.finish();
        // The run's own error first (e.g. Ctrl-C), then one from waiting.
        ran.and(finished)?;
        Ok(run.handed_line)
    }
}

/// The librdkafka version this module was built with ("2.12.1").
#[pyfunction]
fn librdkafka_version() -> String {
    unsafe {
        CStr::from_ptr(rdsys::rd_kafka_version_str())
            .to_string_lossy()
            .into_owned()
    }
}

#[pymodule]
fn mqcli_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeProducer>()?;
    m.add_class::<consume::NativeConsumer>()?;
    m.add_function(wrap_pyfunction!(librdkafka_version, m)?)?;
    Ok(())
}
