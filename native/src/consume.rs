//! The hot loop of `mqcli kafka consume` (the partition consumer, no group)
//! for raw output and the `--format` templates whose every placeholder can be
//! rendered here byte for byte as mqcli.core.writers.Template does.
//!
//! Python keeps everything around the loop (options, the connection check,
//! the topic check, the start offsets, error words and exit codes); this
//! module reads the assigned partitions from the given offsets, applies the
//! stop rules of mqcli.core.stops (--count, -e end offsets, --until,
//! --timeout; no --match) and writes the rendered records in large chunks.
//!
//! The sink (a Python object) has:
//!   write(data)        rendered records, whole ones only (the writer's stream)
//!   flush()            the output is flushed (the stream's flush)
//!   error(code, text)  a client error that ends the run (raises)
//! Any exception from the sink, or from a signal handler (Ctrl-C, SIGTERM),
//! ends the loop and goes back to Python; what was rendered before is written
//! first (whole records), so the output ends with a complete record.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

/// Rendered output is handed to Python's stream when this much is waiting
/// (and whenever librdkafka's queue runs dry).
const OUT_CHUNK: usize = 1 << 20;
/// How long one wait for messages lasts at most (the GIL released), so that
/// signals and the stop rules are looked at again (as mqcli.core.stops.LONGEST_WAIT).
const LONGEST_WAIT: Duration = Duration::from_millis(100);
/// Messages taken from librdkafka's queue between two looks at Python's signals.
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
    Header(String),
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
        "header" => Part::Header(String::from_utf8(arg).map_err(|e| PyValueError::new_err(e.to_string()))?),
        "empty" => Part::Empty,
        other => return Err(PyValueError::new_err(format!("unknown template part {other:?}"))),
    })
}

/// A record's timestamp as mqcli.core.message.Message has it (None: not
/// available or before 1970, as the librdkafka engine's to_message).
fn message_ms<M: Message>(m: &M) -> Option<i64> {
    match m.timestamp() {
        Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) if t >= 0 => Some(t),
        _ => None,
    }
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
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", sod / 3600, sod / 60 % 60, sod % 60);
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// `{header.NAME}`: the last value of the header, UTF-8 with invalid bytes
/// replaced (as header_text: bytes.decode("utf-8", errors="replace")).
fn push_header<M: Message>(out: &mut Vec<u8>, m: &M, name: &str) {
    let Some(headers) = m.headers() else { return };
    let mut found: Option<&[u8]> = None;
    for i in 0..headers.count() {
        if let Some(h) = headers.try_get(i) {
            if h.key == name {
                found = h.value;
            }
        }
    }
    if let Some(v) = found {
        out.extend_from_slice(String::from_utf8_lossy(v).as_bytes());
    }
}

fn render<M: Message>(out: &mut Vec<u8>, parts: &[Part], topic: &str, m: &M) {
    for p in parts {
        match p {
            Part::Lit(b) => out.extend_from_slice(b),
            Part::Value => out.extend_from_slice(m.payload().unwrap_or_default()),
            Part::Key => out.extend_from_slice(m.key().unwrap_or_default()),
            Part::Topic => out.extend_from_slice(topic.as_bytes()),
            Part::Partition => push_int(out, i64::from(m.partition())),
            Part::Offset => push_int(out, m.offset()),
            Part::Timestamp => {
                if let Some(ms) = message_ms(m) {
                    push_int(out, ms)
                }
            }
            Part::Time => {
                if let Some(ms) = message_ms(m) {
                    push_iso(out, ms)
                }
            }
            Part::Size => push_int(out, m.payload().map_or(0, <[u8]>::len) as i64),
            Part::Header(name) => push_header(out, m, name),
            Part::Empty => {}
        }
    }
}

fn wall_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The stop rules of one run (mqcli.core.stops.StopRules without a matcher).
struct Rules {
    count: Option<u64>,
    stop_at: HashMap<i32, i64>, // -e: the end offset of each partition at start
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
    positions: HashMap<i32, i64>,
    done: HashSet<i32>,
    at_eof: HashSet<i32>,
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

    /// A finished partition: fetch no more of it (as the Python loop's _pause).
    fn mark_done(&mut self, c: &BaseConsumer, p: i32) {
        if self.done.insert(p) {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&self.topic, p);
            let _ = c.pause(&tpl);
        }
    }

    /// StopTracker.sweep and .over: why the run is over, if it is.
    fn over(&mut self, c: &BaseConsumer) -> Option<&'static str> {
        let past_until = self.rules.until.is_some_and(|u| wall_ms() > u as f64);
        let keys: Vec<i32> = self.positions.keys().copied().collect();
        for p in keys {
            if self.done.contains(&p) {
                continue;
            }
            let stop = self.rules.stop_at.get(&p).copied();
            if self.rules.exit_at_end && stop.is_some_and(|s| self.positions[&p] >= s) {
                self.mark_done(c, p);
            } else if past_until && self.at_eof.contains(&p) {
                self.mark_done(c, p);
            }
        }
        if !self.positions.is_empty() && self.positions.keys().all(|p| self.done.contains(p)) {
            return Some(if self.rules.exit_at_end { "end" } else { "until" });
        }
        if self.idle_left().is_some_and(|d| d.is_zero()) {
            return Some("idle");
        }
        None
    }

    fn idle_left(&self) -> Option<Duration> {
        self.rules.idle.map(|idle| idle.saturating_sub(self.last_activity.elapsed()))
    }

    /// StopTracker.admit: whether a record is still wanted (finishing its
    /// partition at the -e stop offset or the first record after --until).
    fn admit<M: Message>(&mut self, c: &BaseConsumer, p: i32, offset: i64, m: &M) -> bool {
        if self.done.contains(&p) {
            return false;
        }
        if self.rules.exit_at_end {
            if let Some(&stop) = self.rules.stop_at.get(&p) {
                if offset >= stop {
                    self.mark_done(c, p);
                    return false;
                }
            }
        }
        if let Some(until) = self.rules.until {
            // As the Python loop: any timestamp the record has, even a negative one.
            let ts = match m.timestamp() {
                Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
                Timestamp::NotAvailable => None,
            };
            if ts.is_some_and(|t| t > until) {
                self.mark_done(c, p);
                return false;
            }
        }
        true
    }

    /// A partition reached its end: note where (the consumer's position).
    fn eof(&mut self, c: &BaseConsumer, p: i32) {
        self.at_eof.insert(p);
        if let Ok(tpl) = c.position() {
            if let Some(Offset::Offset(o)) = tpl.find_partition(&self.topic, p).map(|e| e.offset()) {
                let pos = self.positions.entry(p).or_insert(o);
                *pos = (*pos).max(o);
            }
        }
    }

    /// A client error: partition ends are noted, errors that end the run go
    /// to the sink (which raises), transient ones are left to librdkafka.
    fn error(&mut self, c: &BaseConsumer, e: KafkaError) -> PyResult<()> {
        if let KafkaError::PartitionEOF(p) = e {
            self.eof(c, p);
            return Ok(());
        }
        let fatal = matches!(e, KafkaError::MessageConsumptionFatal(_));
        if let Some(code) = e.rdkafka_error_code() {
            self.write_out(true)?;
            self.sink.call_method1("error", (code as i32, e.to_string(), fatal))?;
        }
        Ok(())
    }

    /// One record: COUNT when --count is reached.
    fn take<M: Message>(&mut self, c: &BaseConsumer, m: &M) -> Option<&'static str> {
        let p = m.partition();
        self.at_eof.remove(&p);
        if self.done.contains(&p) {
            return None;
        }
        let offset = m.offset();
        self.positions.insert(p, offset + 1);
        if !self.admit(c, p, offset, m) {
            return None;
        }
        if self.rules.count.is_some_and(|c| self.handled >= c) {
            return Some("count");
        }
        render(&mut self.out, &self.parts, &self.topic, m);
        self.out.extend_from_slice(&self.delimiter);
        self.handled += 1;
        self.last_activity = Instant::now();
        if self.rules.count.is_some_and(|c| self.handled >= c) {
            return Some("count");
        }
        None
    }

    fn run(&mut self, c: &BaseConsumer) -> PyResult<&'static str> {
        loop {
            if let Some(reason) = self.over(c) {
                self.write_out(true)?;
                return Ok(reason);
            }
            // Whatever is queued now, without waiting (the GIL held: no Python runs meanwhile).
            let mut taken = 0;
            while taken < BATCH {
                match c.poll(Duration::ZERO) {
                    None => break,
                    Some(Ok(m)) => {
                        taken += 1;
                        if let Some(reason) = self.take(c, &m) {
                            drop(m);
                            self.write_out(true)?;
                            return Ok(reason);
                        }
                        if self.out.len() >= OUT_CHUNK {
                            self.write_out(false)?;
                        }
                    }
                    Some(Err(e)) => self.error(c, e)?,
                }
            }
            self.py.check_signals()?;
            if taken == BATCH {
                continue;
            }
            // librdkafka's queue ran dry: the output so far goes out now (a
            // follower sees each record as it arrives), then wait for more.
            self.write_out(true)?;
            let wait = self.idle_left().map_or(LONGEST_WAIT, |d| d.min(LONGEST_WAIT)).max(Duration::from_millis(1));
            let first = self.py.detach(|| match c.poll(wait) {
                // A message borrows the consumer: handled below, once the GIL is back.
                Some(Ok(m)) => Some(Ok(m.detach())),
                Some(Err(e)) => Some(Err(e)),
                None => None,
            });
            match first {
                None => {}
                Some(Err(e)) => self.error(c, e)?,
                Some(Ok(owned)) => {
                    if let Some(reason) = self.take(c, &owned) {
                        self.write_out(true)?;
                        return Ok(reason);
                    }
                }
            }
        }
    }
}

/// Read `topic`'s partitions from `positions` [(partition, offset)] and write
/// each record rendered by `parts` (the template: [(kind, argument)], see
/// `Part`) and `delimiter` through `sink` until a stop rule applies.
/// Returns (reason, handled, [(partition, next offset)]).
#[pyfunction]
#[pyo3(signature = (config, topic, positions, ends, parts, delimiter, count, exit_at_end, until_ms, idle_timeout, sink))]
#[allow(clippy::too_many_arguments)]
pub fn consume<'py>(
    py: Python<'py>,
    config: Vec<(String, String)>,
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
    let parts = parts.into_iter().map(|(k, a)| part(&k, a)).collect::<PyResult<Vec<_>>>()?;
    let mut cfg = ClientConfig::new();
    for (k, v) in &config {
        cfg.set(k, v);
    }
    let consumer: BaseConsumer<DefaultConsumerContext> =
        cfg.create().map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut tpl = TopicPartitionList::with_capacity(positions.len());
    for &(p, o) in &positions {
        tpl.add_partition_offset(&topic, p, Offset::Offset(o)).map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    consumer.assign(&tpl).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut run = Run {
        py,
        topic,
        rules: Rules {
            count,
            stop_at: if exit_at_end { ends.into_iter().collect() } else { HashMap::new() },
            exit_at_end,
            until: until_ms,
            idle: idle_timeout.map(|s| Duration::from_secs_f64(s.max(0.0))),
        },
        parts,
        delimiter,
        sink,
        out: Vec::with_capacity(OUT_CHUNK + (OUT_CHUNK >> 2)),
        positions: positions.into_iter().collect(),
        done: HashSet::new(),
        at_eof: HashSet::new(),
        handled: 0,
        last_activity: Instant::now(),
    };
    let ran = run.run(&consumer);
    // However the run ended (a signal, a closed pipe), whole records already
    // rendered are handed on before the exception goes back to Python.
    let reason = match ran {
        Ok(reason) => reason,
        Err(e) => {
            let _ = run.write_out(false);
            return Err(e);
        }
    };
    let mut positions: Vec<(i32, i64)> = run.positions.into_iter().collect();
    positions.sort_unstable();
    Ok((reason, run.handled, positions))
}
