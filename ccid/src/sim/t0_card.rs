//! The card's side of T=0 (ISO/IEC 7816-3 §10, §12.2) as the simulated reader runs it: a TPDU
//! in, the card's answer out, with 6Cxx for a wrong Le and 61xx/GET RESPONSE for data a case 4
//! command leaves waiting.

use super::IccCard;

const GET_RESPONSE: u8 = 0xC0;

/// Response bytes waiting for GET RESPONSE, and the status word that ends them.
#[derive(Debug, Default)]
pub(crate) struct T0Card {
    pending: Option<(Vec<u8>, [u8; 2])>,
}

fn more_available(count: usize) -> [u8; 2] {
    [0x61, if count >= 256 { 0 } else { count as u8 }]
}

fn le_of(p3: u8) -> usize {
    if p3 == 0 {
        256
    } else {
        usize::from(p3)
    }
}

impl T0Card {
    /// Answers one TPDU (`CLA INS P1 P2 P3 [data]`); `None` when the card cannot make sense of
    /// it and stays silent.
    pub(crate) fn on_tpdu(&mut self, tpdu: &[u8], card: &mut dyn IccCard) -> Option<Vec<u8>> {
        let (&[cla, ins, p1, p2, p3], data) = tpdu.split_first_chunk::<5>()?;
        let pending = self.pending.take();
        if ins == GET_RESPONSE && data.is_empty() {
            if let Some((bytes, sw)) = pending {
                return Some(self.deliver(bytes, sw, le_of(p3)));
            }
        }
        if data.is_empty() {
            // Case 1 or 2: the card knows which from INS; the model asks the card with Le only
            // when P3 asks for bytes, and treats P3 = 0 as "up to 256" if the card answers data.
            let apdu: Vec<u8> = if p3 == 0 {
                vec![cla, ins, p1, p2]
            } else {
                vec![cla, ins, p1, p2, p3]
            };
            let response = card.process_apdu(&apdu);
            let (bytes, sw) = split_status(response)?;
            if bytes.is_empty() {
                return Some(sw.to_vec());
            }
            let le = le_of(p3);
            if bytes.len() == le || (p3 == 0 && bytes.len() > 256) {
                return Some(self.deliver(bytes, sw, le));
            }
            // Wrong length: say how many bytes there are (§12.2.2).
            let exact = if bytes.len() >= 256 {
                0
            } else {
                bytes.len() as u8
            };
            return Some(vec![0x6C, exact]);
        }
        if data.len() != usize::from(p3) {
            return Some(vec![0x67, 0x00]);
        }
        // Case 3 or 4: data in; response data, if any, waits for GET RESPONSE.
        let mut apdu = vec![cla, ins, p1, p2, p3];
        apdu.extend_from_slice(data);
        let (bytes, sw) = split_status(card.process_apdu(&apdu))?;
        if bytes.is_empty() {
            return Some(sw.to_vec());
        }
        let available = more_available(bytes.len());
        self.pending = Some((bytes, sw));
        Some(available.to_vec())
    }

    fn deliver(&mut self, mut bytes: Vec<u8>, sw: [u8; 2], le: usize) -> Vec<u8> {
        if le > bytes.len() {
            let count = bytes.len();
            self.pending = Some((bytes, sw));
            return vec![0x6C, if count >= 256 { 0 } else { count as u8 }];
        }
        let rest = bytes.split_off(le);
        if rest.is_empty() {
            bytes.extend_from_slice(&sw);
        } else {
            bytes.extend_from_slice(&more_available(rest.len()));
            self.pending = Some((rest, sw));
        }
        bytes
    }
}

fn split_status(mut response: Vec<u8>) -> Option<(Vec<u8>, [u8; 2])> {
    let sw2 = response.pop()?;
    let sw1 = response.pop()?;
    Some((response, [sw1, sw2]))
}
