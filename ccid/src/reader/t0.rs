//! TPDU-level T=0: TPDUs from APDUs, and the 61xx (GET RESPONSE) and 6Cxx (wrong Le) procedure.

use zeroize::Zeroizing;

use crate::apdu::CommandApdu;
use crate::error::Error;
use crate::message::{Command, HEADER_LENGTH};
use crate::transport::UsbTransport;

use super::message_io::reply_data;
use super::{Reader, MAX_RESPONSE};

impl<T: UsbTransport> Reader<T> {
    pub(super) async fn transmit_t0(
        &mut self,
        command: &CommandApdu<'_>,
    ) -> Result<Vec<u8>, Error> {
        let [cla, ins, p1, p2] = command.header;
        // The TPDU may carry a PIN: wiped when dropped.
        let mut tpdu = Zeroizing::new(vec![cla, ins, p1, p2]);
        if command.data.is_empty() {
            // Case 1: P3 = 0. Case 2: P3 = Le (0 means 256).
            tpdu.push(command.ne.map_or(0, |ne| (ne & 0xFF) as u8));
        } else {
            tpdu.push(u8::try_from(command.data.len()).map_err(|_| Error::T0("Lc too long"))?);
            tpdu.extend_from_slice(command.data);
        }
        let mut response = self.xfr_t0(&tpdu).await?;
        if let [0x6C, exact] = response[..] {
            // Wrong Le: the card says how many bytes it has (ISO 7816-3 §12.2.2).
            if command.data.is_empty() && command.ne.is_some() {
                tpdu[4] = exact;
                response = self.xfr_t0(&tpdu).await?;
            }
        }
        let get_response_class = match self.interface.descriptor.class_get_response {
            0xFF => cla,
            class => class,
        };
        let mut rounds = 0u32;
        // 61xx: more response bytes wait for GET RESPONSE (§12.2.4), when a response was asked
        // for (cases 2 and 4); a case 3 command gets its status word as the card gave it.
        while let (Some(_), [.., 0x61, available]) = (command.ne, &response[..]) {
            let available = *available;
            rounds += 1;
            if rounds > 256 || response.len() > MAX_RESPONSE {
                return Err(Error::T0("the card keeps announcing more response data"));
            }
            let data_len = response.len() - 2;
            response.truncate(data_len);
            let mut get_response = vec![get_response_class, 0xC0, 0x00, 0x00, available];
            let mut part = self.xfr_t0(&get_response).await?;
            if let [0x6C, exact] = part[..] {
                get_response[4] = exact;
                part = self.xfr_t0(&get_response).await?;
            }
            response.extend_from_slice(&part);
        }
        Ok(response)
    }

    pub(super) async fn xfr_t0(&mut self, tpdu: &[u8]) -> Result<Vec<u8>, Error> {
        let room = self
            .interface
            .descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH);
        if tpdu.len() > room {
            return Err(Error::ApduTooLongForReader {
                length: tpdu.len(),
                max: room,
            });
        }
        let timeout = self.card_timeout(tpdu.len() + 258, 1);
        let reply = self
            .exchange(
                Command::XfrBlock {
                    bwi: 0,
                    level: 0,
                    data: tpdu.to_vec(),
                },
                timeout,
            )
            .await?;
        self.check(&reply)?;
        let data = reply_data(reply)?;
        if data.len() < 2 {
            return Err(Error::T0("the card's answer has no status word"));
        }
        Ok(data)
    }
}
