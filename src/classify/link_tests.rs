//! Link-layer decoding: each link type's header built from its
//! specification around a real IPv4/TCP packet, tags and labels stacked,
//! non-IP frames refused, and no prefix of any frame panics.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::packet::parse;
use proptest::prelude::*;

fn ip() -> Vec<u8> {
    crate::packet::tests::v4_tcp(
        [198, 18, 1, 2],
        [198, 18, 2, 2],
        40000,
        443,
        1,
        0x18,
        b"hello",
    )
}

const MACS: [u8; 12] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];

fn eth(tags: &[u8], ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut f = MACS.to_vec();
    f.extend_from_slice(tags);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn assert_ip(linktype: u32, frame: &[u8]) {
    let got = ip_payload(linktype, frame).unwrap();
    assert_eq!(got, &ip()[..], "link type {linktype}");
    let p = parse(got).unwrap();
    assert_eq!((p.sport, p.dport, p.payload), (40000, 443, &b"hello"[..]));
}

#[test]
fn ethernet_plain_vlan_and_qinq() {
    assert_ip(ETHERNET, &eth(&[], 0x0800, &ip()));
    // 802.1Q: TPID 0x8100 then TCI (VLAN 100), then the real ethertype.
    assert_ip(ETHERNET, &eth(&[0x81, 0x00, 0x00, 0x64], 0x0800, &ip()));
    // 802.1ad outer S-tag (0x88a8) over an 802.1Q C-tag.
    let tags = [0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14];
    assert_ip(ETHERNET, &eth(&tags, 0x0800, &ip()));
}

#[test]
fn ethernet_pppoe_and_mpls() {
    // PPPoE session: ver/type 0x11, code 0, session 0x0001, length; PPP 0x0021.
    let mut pppoe = vec![0x11, 0x00, 0x00, 0x01];
    pppoe.extend_from_slice(&((ip().len() + 2) as u16).to_be_bytes());
    pppoe.extend_from_slice(&[0x00, 0x21]);
    pppoe.extend_from_slice(&ip());
    assert_ip(ETHERNET, &eth(&[], 0x8864, &pppoe));
    // MPLS: two labels, the second with bottom-of-stack set.
    let mut mpls = vec![0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
    mpls.extend_from_slice(&ip());
    assert_ip(ETHERNET, &eth(&[], 0x8847, &mpls));
}

#[test]
fn raw_types() {
    for lt in [RAW, DLT_RAW_12, DLT_RAW_14, IPV4, IPV6] {
        assert_ip(lt, &ip());
    }
}

#[test]
fn linux_cooked_v1_and_v2() {
    // SLL: packet type, ARPHRD, address length, 8 address bytes, protocol.
    let mut sll = vec![0x00, 0x00, 0x00, 0x01, 0x00, 0x06];
    sll.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(&ip());
    assert_ip(LINUX_SLL, &sll);
    // SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr.
    let mut sll2 = vec![0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01];
    sll2.extend_from_slice(&[0x00, 0x06]);
    sll2.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
    sll2.extend_from_slice(&ip());
    assert_ip(LINUX_SLL2, &sll2);
    // A VLAN tag inside SLL (the kernel keeps it when not offloaded).
    let mut tagged = sll[..14].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
    tagged.extend_from_slice(&ip());
    assert_ip(LINUX_SLL, &tagged);
}

#[test]
fn bsd_null_and_loop_in_either_byte_order() {
    for fam in [[2, 0, 0, 0], [0, 0, 0, 2]] {
        let mut f = fam.to_vec();
        f.extend_from_slice(&ip());
        assert_ip(NULL, &f);
        assert_ip(LOOP, &f);
    }
    // AF_INET6 as the BSDs and macOS number it.
    for fam in [24u32, 28, 30] {
        let mut f = fam.to_le_bytes().to_vec();
        f.extend_from_slice(&ip());
        assert_eq!(ip_payload(NULL, &f).unwrap(), &ip()[..]);
    }
    assert_eq!(
        ip_payload(NULL, &[7, 0, 0, 0, 0x45]),
        Err(LinkError::NotIp(7))
    );
}

#[test]
fn ppp_with_and_without_address_control() {
    let mut f = vec![0xff, 0x03, 0x00, 0x21];
    f.extend_from_slice(&ip());
    assert_ip(PPP, &f);
    let mut f = vec![0x21];
    f.extend_from_slice(&ip());
    assert_ip(PPP_HDLC, &f);
}

#[test]
fn non_ip_and_unsupported_are_typed_errors() {
    // ARP.
    assert_eq!(
        ip_payload(ETHERNET, &eth(&[], 0x0806, &[0; 28])),
        Err(LinkError::NotIp(0x0806))
    );
    assert_eq!(
        ip_payload(105, &[0u8; 64]),
        Err(LinkError::UnsupportedLinkType(105))
    );
    assert_eq!(ip_payload(ETHERNET, &MACS), Err(LinkError::Truncated));
    // Nine stacked VLAN tags.
    let tags: Vec<u8> = [0x81, 0x00, 0x00, 0x01].repeat(9);
    assert_eq!(
        ip_payload(ETHERNET, &eth(&tags, 0x0800, &ip())),
        Err(LinkError::TooManyTags)
    );
}

#[test]
fn every_prefix_is_an_error_or_a_prefix_of_the_ip_packet() {
    let frame = eth(&[0x81, 0x00, 0x00, 0x64], 0x0800, &ip());
    for n in 0..frame.len() {
        match ip_payload(ETHERNET, &frame[..n]) {
            Ok(p) => assert!(ip().starts_with(p)),
            Err(e) => assert_eq!(e, LinkError::Truncated),
        }
    }
}

proptest! {
    #[test]
    fn never_panics(
        lt in prop_oneof![Just(0u32), Just(1), Just(9), Just(50), Just(101),
                          Just(108), Just(113), Just(276), any::<u32>()],
        bytes in proptest::collection::vec(any::<u8>(), 0..96),
    ) {
        if let Ok(p) = ip_payload(lt, &bytes) {
            // Whatever is returned is a suffix of the frame.
            prop_assert!(bytes.ends_with(p));
            let _ = parse(p);
        }
    }
}
