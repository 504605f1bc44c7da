//! TPDU-level T=1: the block protocol engine borrowed from the card session for one exchange.

use zeroize::Zeroize;

use crate::error::Error;
use crate::message::{Command, CommandStatus, IccStatus, SlotError};
use crate::t1::{LinkError, Outgoing, T1Host, T1Step};
use crate::transport::UsbTransport;

use super::message_io::reply_data;
use super::{CardSession, Link, Reader};

impl<T: UsbTransport> Reader<T> {
    pub(super) async fn transmit_t1(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        let mut host = self.take_t1()?;
        let result = match host.start(apdu) {
            Ok(first) => self.run_t1(&mut host, first).await,
            Err(error) => Err(error.into()),
        };
        self.put_back_t1(host, &result);
        result
    }

    pub(super) fn take_t1(&mut self) -> Result<T1Host, Error> {
        match &mut self.card {
            Some(CardSession {
                link: Link::T1(host),
                ..
            }) => host.take().ok_or(Error::CardNotPowered),
            _ => Err(Error::CardNotPowered),
        }
    }

    pub(super) fn put_back_t1(&mut self, mut host: T1Host, result: &Result<Vec<u8>, Error>) {
        let fatal = matches!(result, Err(Error::NoCard | Error::T1(_)));
        if result.is_err() {
            // A USB failure cut the exchange short: the next one starts with a RESYNCH.
            host.abandon();
        }
        match &mut self.card {
            Some(CardSession {
                link: Link::T1(slot),
                ..
            }) if !fatal => *slot = Some(host),
            _ => self.card = None,
        }
    }

    pub(super) async fn run_t1(
        &mut self,
        host: &mut T1Host,
        first: Outgoing,
    ) -> Result<Vec<u8>, Error> {
        let mut outgoing = first;
        loop {
            let reply = self.t1_block(&outgoing).await;
            outgoing.block.zeroize();
            let reply = reply?;
            match host.on_reply(reply.as_deref().map_err(|e| *e))? {
                T1Step::Send(next) => outgoing = next,
                T1Step::Done(response) => return Ok(response),
            }
        }
    }

    /// One T=1 block out and the card's block back; link-level failures go to the T=1 engine.
    pub(super) async fn t1_block(
        &mut self,
        outgoing: &Outgoing,
    ) -> Result<Result<Vec<u8>, LinkError>, Error> {
        let timeout = self.card_timeout(outgoing.block.len() + 259, outgoing.bwt_multiplier);
        let reply = self
            .exchange(
                Command::XfrBlock {
                    bwi: if outgoing.bwt_multiplier > 1 {
                        outgoing.bwt_multiplier
                    } else {
                        0
                    },
                    level: 0,
                    data: outgoing.block.clone(),
                },
                timeout,
            )
            .await?;
        if reply.state.command == CommandStatus::Failed && reply.state.icc != IccStatus::Absent {
            match SlotError::from_byte(reply.error) {
                SlotError::IccMute => return Ok(Err(LinkError::Mute)),
                SlotError::ParityError | SlotError::Overrun => return Ok(Err(LinkError::Parity)),
                _ => {}
            }
        }
        self.check(&reply)?;
        Ok(Ok(reply_data(reply)?))
    }
}
