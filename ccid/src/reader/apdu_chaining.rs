//! APDU-level readers: short and extended APDUs, chained over `wLevelParameter` when they do not fit one message.

use crate::descriptor::ExchangeLevel;
use crate::error::Error;
use crate::message::{reply_type, Command, Reply, ReplyBody, HEADER_LENGTH};
use crate::transport::UsbTransport;

use super::{Reader, MAX_RESPONSE};

impl<T: UsbTransport> Reader<T> {
    /// APDU-level readers: the APDU in one XfrBlock, or chained over `wLevelParameter` when it
    /// does not fit one message; the response likewise (CCID §6.1.4).
    pub(super) async fn transmit_apdu_level(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        let room = self
            .interface
            .descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH)
            .max(1);
        let timeout = self.card_timeout(apdu.len().min(room) + 258, 1);
        let chunks: Vec<&[u8]> = if apdu.len() <= room {
            vec![apdu]
        } else if self.interface.descriptor.exchange_level() == ExchangeLevel::ExtendedApdu {
            apdu.chunks(room).collect()
        } else {
            // Extended APDUs were refused before; this short one is too big for the reader.
            return Err(Error::ApduTooLongForReader {
                length: apdu.len(),
                max: room,
            });
        };
        let last = chunks.len() - 1;
        let mut reply = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let level = match (i, chunks.len()) {
                (_, 1) => 0x0000,
                (0, _) => 0x0001,
                (i, _) if i == last => 0x0002,
                _ => 0x0003,
            };
            let answer = self
                .exchange(
                    Command::XfrBlock {
                        bwi: 0,
                        level,
                        data: chunk.to_vec(),
                    },
                    timeout,
                )
                .await?;
            self.check(&answer)?;
            if i < last {
                match &answer.body {
                    ReplyBody::DataBlock { chain: 0x10, data } if data.is_empty() => {}
                    ReplyBody::DataBlock { chain, .. } => return Err(Error::BadChaining(*chain)),
                    _ => {}
                }
            }
            reply = Some(answer);
        }
        let Some(Reply {
            body: ReplyBody::DataBlock { chain, data },
            ..
        }) = reply
        else {
            return Err(Error::UnexpectedReply {
                expected: reply_type::DATA_BLOCK,
                got: 0,
            });
        };
        let mut response = data;
        let mut chain = chain;
        while chain == 0x01 || chain == 0x03 {
            let answer = self
                .exchange(
                    Command::XfrBlock {
                        bwi: 0,
                        level: 0x0010,
                        data: Vec::new(),
                    },
                    timeout,
                )
                .await?;
            self.check(&answer)?;
            let ReplyBody::DataBlock {
                chain: next,
                data: part,
            } = answer.body
            else {
                return Err(Error::BadChaining(0));
            };
            if next != 0x02 && next != 0x03 {
                return Err(Error::BadChaining(next));
            }
            response.extend_from_slice(&part);
            if response.len() > MAX_RESPONSE {
                return Err(Error::ResponseTooLong(MAX_RESPONSE));
            }
            chain = next;
        }
        if chain != 0x00 && chain != 0x02 {
            return Err(Error::BadChaining(chain));
        }
        Ok(response)
    }
}
