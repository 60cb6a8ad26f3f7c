//! The hot loop of `mqcli kafka consume` (the partition consumer, no group)
//! for raw output and the `--format` templates whose every placeholder can be
//! rendered here byte for byte as mqcli.core.writers.Template does.
//!
//! One librdkafka consumer (`NativeConsumer`) does the whole run: the
//! connection check (metadata, and the client's error reports with their
//! texts), the partition listing and the start offsets (watermarks, offsets
//! for a time), handed to Python as codes and texts (Python keeps the options,
//! error words and exit codes, shared with the librdkafka engine); then the
//! loop, which reads the assigned partitions from the given offsets, applies
//! the stop rules of mqcli.core.stops (--count, -e end offsets, --until,
//! --timeout; no --match) and writes the rendered records in large chunks.
//!
//! The sink (a Python object) has:
//!   write(data)        rendered records, whole ones only (the writer's stream)
//!   flush()            the output is flushed (the stream's flush)
//!   error(code, text)  a client error that ends the run (raises)
//! Any exception from the sink, or from a signal handler (Ctrl-C, SIGTERM),
//! ends the loop and goes back to Python; what was rendered before is written
//! first (whole records), so the output ends with a complete record.

use std::ffi::{CStr, CString};
use std::os::raw::c_void;
use std::ptr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rdkafka::bindings as rdsys;
use rdkafka::bindings::rd_kafka_resp_err_t as Err;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::{create, metadata, request_error, take_errors, Counts, ErrorTuple, TopicTuple};

/// Rendered output is handed to Python's stream when this much is waiting
/// (and whenever librdkafka's queue runs dry).
const OUT_CHUNK: usize = 1 << 20;
/// How long one wait for messages lasts at most (the GIL released), so that
/// signals and the stop rules are looked at again (as mqcli.core.stops.LONGEST_WAIT).
const LONGEST_WAIT: Duration = Duration::from_millis(100);
/// Messages taken from librdkafka's queue per call (as the Python loop's
/// consume(n); Python's signals are looked at between two).
const BATCH: usize = 10_000;

/// What a template renders, one part after another (see mqcli.core.writers.FIELDS).
enum Part {
    Lit(Vec<u8>),
    Value,
    Key,
    Topic,
    Partition,
    Offset,
    Timestamp,
    Time,
    Size,
    Header(CString),
    /// `{headers}`: every header as compact JSON (mqcli.core.message.to_json_obj's "headers").
    Headers,
    /// A RabbitMQ field (queue, exchange, properties...): empty for a Kafka record.
    Empty,
}

fn part(kind: &str, arg: Vec<u8>) -> PyResult<Part> {
    Ok(match kind {
        "lit" => Part::Lit(arg),
        "value" => Part::Value,
        "key" => Part::Key,
        "topic" => Part::Topic,
        "partition" => Part::Partition,
        "offset" => Part::Offset,
        "timestamp" => Part::Timestamp,
        "time" => Part::Time,
        "size" => Part::Size,
        "header" => {
            Part::Header(CString::new(arg).map_err(|e| PyValueError::new_err(e.to_string()))?)
        }
        "headers" => Part::Headers,
        "empty" => Part::Empty,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown template part {other:?}"
            )))
        }
    })
}

/// Days since 1970-01-01 as (year, month, day) in the proleptic Gregorian calendar.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `{time}`: ISO-8601 UTC to the millisecond, as writers._iso ("2026-12-02T10:01:02.345Z").
fn push_iso(out: &mut Vec<u8>, ms: i64) {
    use std::io::Write;
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil(days);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// One record (or error) as librdkafka hands it over, valid until destroyed.
struct Rec<'a>(&'a rdsys::rd_kafka_message_t);

/// Bytes librdkafka owns, for as long as the message they belong to (`'a`).
fn bytes<'a>(ptr: *const c_void, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // librdkafka keeps them until the message is destroyed (after rendering).
        unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
    }
}

impl<'a> Rec<'a> {
    fn value(&self) -> &'a [u8] {
        bytes(self.0.payload, self.0.len)
    }

    fn key(&self) -> &'a [u8] {
        bytes(self.0.key, self.0.key_len)
    }

    /// (timestamp type, ms): type NOT_AVAILABLE when it has none.
    fn timestamp(&self) -> (rdsys::rd_kafka_timestamp_type_t, i64) {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        let ts = unsafe { rdsys::rd_kafka_message_timestamp(self.0, &mut kind) };
        (kind, ts)
    }

    /// The timestamp as mqcli.core.message.Message has it (None: not
    /// available or before 1970, as the librdkafka engine's to_message).
    fn message_ms(&self) -> Option<i64> {
        match self.timestamp() {
            (rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE, _) => None,
            (_, t) if t >= 0 => Some(t),
            _ => None,
        }
    }

    /// The last value of header `name` (None: no such header, or a null value).
    fn header(&self, name: &CStr) -> Option<&'a [u8]> {
        let mut hdrs: *mut rdsys::rd_kafka_headers_t = ptr::null_mut();
        if unsafe { rdsys::rd_kafka_message_headers(self.0, &mut hdrs) }
            != Err::RD_KAFKA_RESP_ERR_NO_ERROR
        {
            return None;
        }
        let (mut value, mut size): (*const c_void, usize) = (ptr::null(), 0);
        if unsafe { rdsys::rd_kafka_header_get_last(hdrs, name.as_ptr(), &mut value, &mut size) }
            != Err::RD_KAFKA_RESP_ERR_NO_ERROR
            || value.is_null()
        {
            return None;
        }
        Some(bytes(value, size))
    }

    /// Every header in order: (name, value; None for a null value).
    fn headers(&self) -> Vec<(&'a [u8], Option<&'a [u8]>)> {
        let mut hdrs: *mut rdsys::rd_kafka_headers_t = ptr::null_mut();
        if unsafe { rdsys::rd_kafka_message_headers(self.0, &mut hdrs) }
            != Err::RD_KAFKA_RESP_ERR_NO_ERROR
        {
            return Vec::new();
        }
        let n = unsafe { rdsys::rd_kafka_header_cnt(hdrs) };
        let mut all = Vec::with_capacity(n);
        for i in 0..n {
            let (mut name, mut value, mut size): (
                *const std::os::raw::c_char,
                *const c_void,
                usize,
            ) = (ptr::null(), ptr::null(), 0);
            if unsafe { rdsys::rd_kafka_header_get_all(hdrs, i, &mut name, &mut value, &mut size) }
                != Err::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                break;
            }
            let name: &'a [u8] = unsafe { CStr::from_ptr(name) }.to_bytes();
            all.push((
                name,
                if value.is_null() {
                    None
                } else {
                    Some(bytes(value, size))
                },
            ));
        }
        all
    }

    fn error_text(&self) -> String {
        unsafe { CStr::from_ptr(rdsys::rd_kafka_message_errstr(self.0)) }
            .to_string_lossy()
            .into_owned()
    }
}

/// A JSON string as Python's json.dumps(..., ensure_ascii=False) writes it.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for &c in text.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => {
                use std::io::Write;
                let _ = write!(out, "\\u{c:04x}");
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// Standard base64 with padding (Python's base64.b64encode).
fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ABC[(n >> 18) as usize & 63]);
        out.push(ABC[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            ABC[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            ABC[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// A header value as mqcli.core.message._jsonable: UTF-8 text, else {"base64": ...}; null.
fn push_json_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.extend_from_slice(b"null"),
        Some(v) => match std::str::from_utf8(v) {
            Ok(text) => push_json_str(out, text),
            Err(_) => {
                out.extend_from_slice(b"{\"base64\":\"");
                push_base64(out, v);
                out.extend_from_slice(b"\"}");
            }
        },
    }
}

/// `{headers}`: {"name":value,...} when the names are unique, else
/// [["name",value],...]; {} without headers (as writers.FIELDS["headers"]).
fn push_headers_json(out: &mut Vec<u8>, m: &Rec<'_>) {
    let headers = m.headers();
    let names: std::collections::HashSet<&[u8]> = headers.iter().map(|(k, _)| *k).collect();
    let unique = names.len() == headers.len();
    out.push(if unique { b'{' } else { b'[' });
    for (i, (name, value)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !unique {
            out.push(b'[');
        }
        push_json_str(out, &String::from_utf8_lossy(name));
        out.push(if unique { b':' } else { b',' });
        push_json_value(out, *value);
        if !unique {
            out.push(b']');
        }
    }
    out.push(if unique { b'}' } else { b']' });
}

fn render(out: &mut Vec<u8>, parts: &[Part], topic: &str, m: &Rec<'_>) {
    for p in parts {
        match p {
            Part::Lit(b) => out.extend_from_slice(b),
            Part::Value => out.extend_from_slice(m.value()),
            Part::Key => out.extend_from_slice(m.key()),
            Part::Topic => out.extend_from_slice(topic.as_bytes()),
            Part::Partition => push_int(out, i64::from(m.0.partition)),
            Part::Offset => push_int(out, m.0.offset),
            Part::Timestamp => {
                if let Some(ms) = m.message_ms() {
                    push_int(out, ms)
                }
            }
            Part::Time => {
                if let Some(ms) = m.message_ms() {
                    push_iso(out, ms)
                }
            }
            Part::Size => push_int(out, m.0.len as i64),
            // As header_text: bytes.decode("utf-8", errors="replace").
            Part::Header(name) => {
                if let Some(v) = m.header(name) {
                    out.extend_from_slice(String::from_utf8_lossy(v).as_bytes())
                }
            }
            Part::Headers => push_headers_json(out, m),
            Part::Empty => {}
        }
    }
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One assigned partition's state in a run (as the Python loop's positions,
/// StopTracker.stop_at and .done, and its at_eof set).
struct Partition {
    position: i64,     // the next offset to read
    stop: Option<i64>, // -e: its end offset at start
    done: bool,
    at_eof: bool,
}

/// librdkafka's consumer queue and a batch of messages taken from it.
struct Batch {
    queue: *mut rdsys::rd_kafka_queue_t,
    msgs: Vec<*mut rdsys::rd_kafka_message_t>,
    len: usize,
}

// The queue and messages are used by one thread at a time (the wait runs
// with the GIL released, on the calling thread).
unsafe impl Send for Batch {}

impl Batch {
    /// Take up to `max` messages, waiting up to `timeout_ms` for them
    /// (librdkafka waits until it has `max` or the time is up).
    fn fill(&mut self, max: usize, timeout_ms: i32) {
        self.clear();
        let n = unsafe {
            rdsys::rd_kafka_consume_batch_queue(self.queue, timeout_ms, self.msgs.as_mut_ptr(), max)
        };
        self.len = n.max(0) as usize;
    }

    fn clear(&mut self) {
        for m in &self.msgs[..self.len] {
            unsafe { rdsys::rd_kafka_message_destroy(*m) };
        }
        self.len = 0;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.clear();
        unsafe { rdsys::rd_kafka_queue_destroy(self.queue) };
    }
}

/// The stop rules of one run (mqcli.core.stops.StopRules without a matcher).
struct Rules {
    count: Option<u64>,
    exit_at_end: bool,
    until: Option<i64>,
    idle: Option<Duration>,
}

struct Run<'py> {
    py: Python<'py>,
    topic: String,
    rules: Rules,
    parts: Vec<Part>,
    delimiter: Vec<u8>,
    sink: Bound<'py, PyAny>,
    out: Vec<u8>,
    partitions: Vec<Option<Partition>>, // by partition number
    handled: u64,
    last_activity: Instant,
}

impl<'py> Run<'py> {
    /// Hand what was rendered to Python's stream (and flush it when asked).
    fn write_out(&mut self, flush: bool) -> PyResult<()> {
        if !self.out.is_empty() {
            let data = PyBytes::new(self.py, &self.out);
            self.out.clear();
            self.sink.call_method1("write", (data,))?;
        }
        if flush {
            self.sink.call_method0("flush")?;
        }
        Ok(())
    }

    fn partition(&mut self, p: i32) -> Option<&mut Partition> {
        self.partitions.get_mut(usize::try_from(p).ok()?)?.as_mut()
    }

    /// A finished partition: fetch no more of it (as the Python loop's _pause).
    fn mark_done(&mut self, c: &BaseConsumer<Counts>, p: i32) {
        let topic = self.topic.clone();
        if let Some(part) = self.partition(p) {
            if !part.done {
                part.done = true;
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(&topic, p);
                let _ = c.pause(&tpl);
            }
        }
    }

    /// StopTracker.sweep and .over: why the run is over, if it is.
    fn over(&mut self, c: &BaseConsumer<Counts>) -> Option<&'static str> {
        let past_until = self.rules.until.is_some_and(|u| wall_ms() > u as f64);
        let exit_at_end = self.rules.exit_at_end;
        let mut finished = Vec::new();
        for (p, part) in self.partitions.iter().enumerate() {
            let Some(part) = part else { continue };
            if part.done {
                continue;
            }
            if (exit_at_end && part.stop.is_some_and(|s| part.position >= s))
                || (past_until && part.at_eof)
            {
                finished.push(p as i32);
            }
        }
        for p in finished {
            self.mark_done(c, p);
        }
        let mut assigned = self.partitions.iter().flatten().peekable();
        if assigned.peek().is_some() && assigned.all(|part| part.done) {
            return Some(if exit_at_end { "end" } else { "until" });
        }
        if self.idle_left().is_some_and(|d| d.is_zero()) {
            return Some("idle");
        }
        None
    }

    fn idle_left(&self) -> Option<Duration> {
        self.rules
            .idle
            .map(|idle| idle.saturating_sub(self.last_activity.elapsed()))
    }

    /// An error from librdkafka: a partition's end is noted, errors that end
    /// the run go to the sink (which raises), transient ones are left to
    /// librdkafka (as the Python loop).
    fn error(&mut self, m: &Rec<'_>) -> PyResult<()> {
        let err = m.0.err;
        if err == Err::RD_KAFKA_RESP_ERR__PARTITION_EOF {
            if let Some(part) = self.partition(m.0.partition) {
                part.at_eof = true;
                if m.0.offset >= 0 {
                    part.position = part.position.max(m.0.offset);
                }
            }
            return Ok(());
        }
        let fatal = err == Err::RD_KAFKA_RESP_ERR__FATAL;
        let text = m.error_text();
        self.write_out(true)?;
        self.sink.call_method1("error", (err as i32, text, fatal))?;
        Ok(())
    }

    /// One record: COUNT when --count is reached.
    fn take(&mut self, c: &BaseConsumer<Counts>, m: &Rec<'_>) -> Option<&'static str> {
        let (p, offset) = (m.0.partition, m.0.offset);
        let (exit_at_end, until) = (self.rules.exit_at_end, self.rules.until);
        let part = self.partition(p)?;
        part.at_eof = false;
        if part.done {
            return None;
        }
        part.position = offset + 1;
        // StopTracker.admit: the record at the -e stop offset, or the first
        // after --until (any timestamp it has, as the Python loop), finishes
        // its partition.
        let ended = (exit_at_end && part.stop.is_some_and(|s| offset >= s))
            || until.is_some_and(|u| match m.timestamp() {
                (rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE, _) => false,
                (_, t) => t > u,
            });
        if ended {
            self.mark_done(c, p);
            return None;
        }
        if self.rules.count.is_some_and(|n| self.handled >= n) {
            return Some("count");
        }
        render(&mut self.out, &self.parts, &self.topic, m);
        self.out.extend_from_slice(&self.delimiter);
        self.handled += 1;
        self.last_activity = Instant::now();
        if self.rules.count.is_some_and(|n| self.handled >= n) {
            return Some("count");
        }
        None
    }

    /// The records of a batch in order; COUNT when --count is reached.
    fn take_batch(
        &mut self,
        c: &BaseConsumer<Counts>,
        batch: &Batch,
    ) -> PyResult<Option<&'static str>> {
        for &ptr in &batch.msgs[..batch.len] {
            let m = Rec(unsafe { &*ptr });
            if m.0.err != Err::RD_KAFKA_RESP_ERR_NO_ERROR {
                self.error(&m)?;
                continue;
            }
            if let Some(reason) = self.take(c, &m) {
                return Ok(Some(reason));
            }
            if self.out.len() >= OUT_CHUNK {
                self.write_out(false)?;
            }
        }
        Ok(None)
    }

    fn run(&mut self, c: &BaseConsumer<Counts>, batch: &mut Batch) -> PyResult<&'static str> {
        loop {
            if let Some(reason) = self.over(c) {
                self.write_out(true)?;
                return Ok(reason);
            }
            // Whatever is queued now, without waiting (the GIL held).
            batch.fill(BATCH, 0);
            if batch.len == 0 {
                // The queue ran dry: the output so far goes out now (a
                // follower sees each record as it arrives), then wait for
                // the next message with the GIL released.
                self.write_out(true)?;
                let wait = self
                    .idle_left()
                    .map_or(LONGEST_WAIT, |d| d.min(LONGEST_WAIT));
                let ms = (wait.as_millis() as i32).max(1);
                self.py.detach(|| batch.fill(1, ms));
            }
            let reason = self.take_batch(c, batch);
            batch.clear();
            if let Some(reason) = reason? {
                self.write_out(true)?;
                return Ok(reason);
            }
            self.py.check_signals()?;
        }
    }
}

/// One librdkafka consumer for a whole `kafka consume` run (no group): the
/// connection check (metadata and the client's error reports, handed to
/// Python as codes and texts, which keeps the words and exit codes shared
/// with the librdkafka engine), the start offsets, then the loop.
#[pyclass(module = "mqcli_native")]
pub struct NativeConsumer {
    consumer: BaseConsumer<Counts>,
}

impl Drop for NativeConsumer {
    /// Close with librdkafka's own call before rdkafka's BaseConsumer drops:
    /// for a consumer with a group.id (librdkafka wants one: common.py's
    /// placeholder) that closes by polling in steps of 100 ms until closed,
    /// and nothing wakes the first poll, so every run ended ~100 ms after its
    /// last record.  librdkafka's close returns as soon as it is done (an
    /// assign-only consumer has nothing to revoke or commit); BaseConsumer
    /// then finds it closed and does not wait.
    fn drop(&mut self) {
        unsafe { rdsys::rd_kafka_consumer_close(self.consumer.client().native_ptr()) };
    }
}

#[pymethods]
impl NativeConsumer {
    /// A consumer with librdkafka's `config`; ValueError (librdkafka's words) when it refuses them.
    #[new]
    fn new(config: Vec<(String, String)>) -> PyResult<Self> {
        Ok(NativeConsumer {
            consumer: create(&config)?,
        })
    }

    /// Serve the client's queued events (waiting up to `timeout` seconds for
    /// the first), keeping its error reports for `errors()`.  Raw events, not
    /// BaseConsumer::poll, which keeps only the code of an error (the TLS and
    /// SASL words need its text).  Python calls this before the loop, with
    /// nothing assigned, so no message is dropped.
    fn poll(&self, py: Python<'_>, timeout: f64) {
        let client = self.consumer.client();
        let queue = unsafe { rdsys::rd_kafka_queue_get_consumer(client.native_ptr()) };
        if queue.is_null() {
            return;
        }
        let mut wait_ms = (timeout.max(0.0) * 1000.0) as i32;
        for _ in 0..64 {
            let q = queue as usize; // a pointer is not Send; librdkafka's queues are thread-safe
            let event = if wait_ms > 0 {
                py.detach(|| unsafe {
                    rdsys::rd_kafka_queue_poll(q as *mut rdsys::rd_kafka_queue_t, wait_ms) as usize
                }) as *mut rdsys::rd_kafka_event_t
            } else {
                unsafe { rdsys::rd_kafka_queue_poll(queue, 0) }
            };
            wait_ms = 0;
            if event.is_null() {
                break;
            }
            unsafe {
                if rdsys::rd_kafka_event_type(event) == rdsys::RD_KAFKA_EVENT_ERROR {
                    let code = rdsys::rd_kafka_event_error(event) as i32;
                    let text = CStr::from_ptr(rdsys::rd_kafka_event_error_string(event))
                        .to_string_lossy()
                        .into_owned();
                    client.context().report(code, text);
                }
                rdsys::rd_kafka_event_destroy(event);
            }
        }
        unsafe { rdsys::rd_kafka_queue_destroy(queue) };
    }

    /// The error reports since the last call: [(code, name, text, fatal)].
    fn errors(&self) -> Vec<(i32, Option<String>, String, bool)> {
        take_errors(self.consumer.client())
    }

    /// Cluster metadata, as NativeProducer.metadata.
    fn metadata(
        &self,
        py: Python<'_>,
        topic: Option<String>,
        timeout: f64,
    ) -> (Option<ErrorTuple>, Vec<TopicTuple>) {
        metadata(py, self.consumer.client(), topic, timeout)
    }

    /// Each partition's (low, high) watermarks from the broker: ([(partition, low, high)], None),
    /// or (partial list, the first request's error).
    fn watermarks(
        &self,
        py: Python<'_>,
        topic: String,
        partitions: Vec<i32>,
        timeout: f64,
    ) -> (Vec<(i32, i64, i64)>, Option<ErrorTuple>) {
        let consumer = &self.consumer;
        let timeout = Duration::from_secs_f64(timeout.max(0.0));
        py.detach(|| {
            let mut marks = Vec::with_capacity(partitions.len());
            for p in partitions {
                match consumer.fetch_watermarks(&topic, p, timeout) {
                    Ok((lo, hi)) => marks.push((p, lo, hi)),
                    Err(e) => return (marks, Some(request_error(&e))),
                }
            }
            (marks, None)
        })
    }

    /// The first offset at or after `ms` of each partition ([(partition, offset)];
    /// -1 where there is none), or the request's error.
    fn offsets_for_times(
        &self,
        py: Python<'_>,
        topic: String,
        partitions: Vec<i32>,
        ms: i64,
        timeout: f64,
    ) -> PyResult<(Vec<(i32, i64)>, Option<ErrorTuple>)> {
        let mut tpl = TopicPartitionList::with_capacity(partitions.len());
        for &p in &partitions {
            tpl.add_partition_offset(&topic, p, Offset::Offset(ms))
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        let consumer = &self.consumer;
        let timeout = Duration::from_secs_f64(timeout.max(0.0));
        let answer = py.detach(|| consumer.offsets_for_times(tpl, timeout));
        Ok(match answer {
            Ok(found) => {
                let offsets = found
                    .elements()
                    .iter()
                    .map(|e| (e.partition(), e.offset().to_raw().unwrap_or(-1)))
                    .collect();
                (offsets, None)
            }
            Err(e) => (Vec::new(), Some(request_error(&e))),
        })
    }

    /// Read `topic`'s partitions from `positions` [(partition, offset)] and write
    /// each record rendered by `parts` (the template: [(kind, argument)], see
    /// `Part`) and `delimiter` through `sink` until a stop rule applies; `ends`:
    /// each partition's end offset at start (-e).
    /// Returns (reason, handled, [(partition, next offset)]).
    #[pyo3(signature = (topic, positions, ends, parts, delimiter, count, exit_at_end, until_ms, idle_timeout, sink))]
    #[allow(clippy::too_many_arguments)]
    fn consume<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        positions: Vec<(i32, i64)>,
        ends: Vec<(i32, i64)>,
        parts: Vec<(String, Vec<u8>)>,
        delimiter: Vec<u8>,
        count: Option<u64>,
        exit_at_end: bool,
        until_ms: Option<i64>,
        idle_timeout: Option<f64>,
        sink: Bound<'py, PyAny>,
    ) -> PyResult<(&'static str, u64, Vec<(i32, i64)>)> {
        let parts = parts
            .into_iter()
            .map(|(k, a)| part(&k, a))
            .collect::<PyResult<Vec<_>>>()?;
        let consumer = &self.consumer;
        let mut tpl = TopicPartitionList::with_capacity(positions.len());
        let mut partitions: Vec<Option<Partition>> = Vec::new();
        for &(p, o) in &positions {
            tpl.add_partition_offset(&topic, p, Offset::Offset(o))
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            let i = usize::try_from(p).map_err(|e| PyValueError::new_err(e.to_string()))?;
            if partitions.len() <= i {
                partitions.resize_with(i + 1, || None);
            }
            let stop = if exit_at_end {
                ends.iter().find(|(q, _)| *q == p).map(|&(_, e)| e)
            } else {
                None
            };
            partitions[i] = Some(Partition {
                position: o,
                stop,
                done: false,
                at_eof: false,
            });
        }
        consumer
            .assign(&tpl)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let queue = unsafe { rdsys::rd_kafka_queue_get_consumer(consumer.client().native_ptr()) };
        if queue.is_null() {
            return Err(PyValueError::new_err("librdkafka has no consumer queue"));
        }
        let mut batch = Batch {
            queue,
            msgs: vec![ptr::null_mut(); BATCH],
            len: 0,
        };
        let mut run = Run {
            py,
            topic,
            rules: Rules {
                count,
                exit_at_end,
                until: until_ms,
                idle: idle_timeout.map(|s| Duration::from_secs_f64(s.max(0.0))),
            },
            parts,
            delimiter,
            sink,
            out: Vec::with_capacity(OUT_CHUNK + (OUT_CHUNK >> 2)),
            partitions,
            handled: 0,
            last_activity: Instant::now(),
        };
        let ran = run.run(consumer, &mut batch);
        drop(batch); // the queue goes before the consumer
                     // However the run ended (a signal, a closed pipe), whole records already
                     // rendered are handed on before the exception goes back to Python.
        let reason = match ran {
            Ok(reason) => reason,
            Err(e) => {
                let _ = run.write_out(false);
                return Err(e);
            }
        };
        let positions = run
            .partitions
            .iter()
            .enumerate()
            .filter_map(|(p, part)| part.as_ref().map(|part| (p as i32, part.position)))
            .collect();
        Ok((reason, run.handled, positions))
    }
}
