//! Modbus/TCP: the MBAP header and a request PDU whose length fits its
//! function code.
//!
//! Modbus has no magic: an ADU is a transaction id, protocol id 0, a length
//! (unit id plus PDU, 2 to 254), the unit id, then the PDU. A request
//! matches only when the whole ADU is present and its length is exactly the
//! one its public function code implies (reads and single writes: 6;
//! multiple writes: 7 + a byte count consistent with the quantity, ...),
//! with the quantity limits of the specification. When the server answered,
//! its reply must echo the transaction id, protocol id and unit id, and
//! carry the same function code (or it with 0x80 and an exception code). A
//! server side seen alone matches on a response of the same strictness.

use super::cursor::{at, be16_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The Modbus/TCP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Modbus,
    tcp: true,
    udp: false,
    detect,
}];

const MBAP: usize = 7;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        if input.server.is_empty() {
            return Sniff::NeedMore;
        }
        return adu(input.server, false, input.complete);
    }
    let answered = !input.server.is_empty();
    let req = match adu(input.client, true, input.complete || answered) {
        Sniff::Match(m) => m,
        other => return other,
    };
    if answered {
        // The reply echoes the request's transaction, protocol and unit.
        let echo = |i| at(input.server, i).is_none_or(|b| Some(b) == at(input.client, i));
        if !(0..MBAP).filter(|&i| i != 4 && i != 5).all(echo) {
            return Sniff::NotThis;
        }
        let fc = at(input.client, MBAP).unwrap_or_default();
        if at(input.server, MBAP).is_some_and(|b| b & 0x7f != fc) {
            return Sniff::NotThis;
        }
    }
    Sniff::Match(req)
}

/// One ADU at the start of `buf`; `request` picks the PDU rules.
fn adu(buf: &[u8], request: bool, complete: bool) -> Sniff<Meta<'static>> {
    let short = if complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    // Protocol id: bytes 2 and 3 are zero; the length's high byte is zero.
    for i in [2, 3, 4] {
        match at(buf, i) {
            None => return short,
            Some(0) => {}
            Some(_) => return Sniff::NotThis,
        }
    }
    let Some(len) = at(buf, 5) else { return short };
    if len < 2 {
        return Sniff::NotThis;
    }
    let Some(pdu) = buf.get(MBAP..MBAP + usize::from(len) - 1) else {
        // Reject early what the function code already rules out.
        return match at(buf, MBAP) {
            Some(fc) if name(fc & 0x7f).is_none() || (request && fc & 0x80 != 0) => Sniff::NotThis,
            _ => short,
        };
    };
    let ok = if request {
        request_ok(pdu)
    } else {
        response_ok(pdu)
    };
    let fc = at(pdu, 0).unwrap_or_default();
    match (ok, name(fc & 0x7f)) {
        (true, Some(n)) => Sniff::Match(Meta {
            method: Some(n),
            ..Meta::default()
        }),
        _ => Sniff::NotThis,
    }
}

fn name(fc: u8) -> Option<&'static [u8]> {
    Some(match fc {
        1 => b"read-coils",
        2 => b"read-discrete-inputs",
        3 => b"read-holding-registers",
        4 => b"read-input-registers",
        5 => b"write-single-coil",
        6 => b"write-single-register",
        7 => b"read-exception-status",
        8 => b"diagnostics",
        11 => b"get-comm-event-counter",
        12 => b"get-comm-event-log",
        15 => b"write-multiple-coils",
        16 => b"write-multiple-registers",
        17 => b"report-server-id",
        22 => b"mask-write-register",
        23 => b"read-write-multiple-registers",
        43 => b"encapsulated-interface",
        _ => return None,
    })
}

fn request_ok(pdu: &[u8]) -> bool {
    let mut c = Cursor::new(pdu);
    let Some(fc) = c.u8() else { return false };
    let n = pdu.len();
    let qty = be16_at(pdu, 3).unwrap_or_default();
    match fc {
        1 | 2 => n == 5 && (1..=2000).contains(&qty),
        3 | 4 => n == 5 && (1..=125).contains(&qty),
        5 => n == 5 && matches!(be16_at(pdu, 3), Some(0xff00 | 0)),
        6 => n == 5,
        7 | 11 | 12 | 17 => n == 1,
        8 => n >= 5 && n % 2 == 1,
        15 => {
            let count = at(pdu, 5).map(usize::from);
            (1..=1968).contains(&qty)
                && count == Some(usize::from(qty).div_ceil(8))
                && n == 6 + count.unwrap_or(0)
        }
        16 => {
            let count = at(pdu, 5).map(usize::from);
            (1..=123).contains(&qty)
                && count == Some(2 * usize::from(qty))
                && n == 6 + count.unwrap_or(0)
        }
        22 => n == 7,
        23 => {
            let wqty = be16_at(pdu, 7).unwrap_or_default();
            let count = at(pdu, 9).map(usize::from);
            (1..=125).contains(&qty)
                && (1..=121).contains(&wqty)
                && count == Some(2 * usize::from(wqty))
                && n == 10 + count.unwrap_or(0)
        }
        43 => n >= 3 && matches!(at(pdu, 1), Some(13 | 14)),
        _ => false,
    }
}

fn response_ok(pdu: &[u8]) -> bool {
    let Some(fc) = at(pdu, 0) else { return false };
    let n = pdu.len();
    if fc & 0x80 != 0 {
        return n == 2
            && name(fc & 0x7f).is_some()
            && matches!(at(pdu, 1), Some(1..=6 | 8 | 10 | 11));
    }
    let count = at(pdu, 1).map(usize::from).unwrap_or_default();
    match fc {
        1 | 2 => n == 2 + count && count >= 1,
        3 | 4 | 23 => n == 2 + count && count >= 2 && count % 2 == 0,
        5 | 6 | 15 | 16 => n == 5,
        22 => n == 7,
        _ => false,
    }
}

#[cfg(test)]
#[path = "modbus_tests.rs"]
mod tests;
