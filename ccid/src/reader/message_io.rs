//! CCID message I/O: one command out and its reply back, time extensions, abort, status checks.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::message::{
    control, reply_type, Command, CommandStatus, Header, IccStatus, Reply, ReplyBody, SlotError,
    HEADER_LENGTH,
};
use crate::transport::UsbTransport;

use super::{Reader, MAX_EMPTY_TRANSFERS, MAX_STALE_REPLIES, READER_TIMEOUT};

impl<T: UsbTransport> Reader<T> {
    /// Maps a failed command to an error; records that the card is gone when it is.
    pub(super) fn check(&mut self, reply: &Reply) -> Result<(), Error> {
        if reply.state.icc == IccStatus::Absent {
            self.note_presence(false);
        }
        match reply.state.command {
            CommandStatus::Ok | CommandStatus::TimeExtension => Ok(()),
            CommandStatus::Failed if reply.state.icc == IccStatus::Absent => Err(Error::NoCard),
            CommandStatus::Failed => Err(SlotError::from_byte(reply.error).into()),
        }
    }

    pub(super) fn next_seq(&mut self) -> u8 {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        seq
    }

    /// Sends a command and returns its reply, waiting again while the reader asks for more
    /// time, and aborting the command if nothing comes back in time.
    pub(super) async fn exchange(
        &mut self,
        mut command: Command,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let seq = self.next_seq();
        let expected_type = reply_type_for(&command);
        // Commands may carry a PIN: no copy outlives its sending.
        let message =
            Zeroizing::new(command.encode(self.options.slot, seq, self.interface.dialect()));
        command.wipe();
        self.send(&message).await?;
        let mut wait = timeout;
        let mut extensions = 0u32;
        let mut stale = 0u32;
        let mut mismatched = None;
        loop {
            let reply = match self.receive(wait).await {
                Ok(reply) => reply,
                Err(Error::Timeout) => {
                    self.abort().await;
                    // Only replies to other commands came: say so rather than "no answer".
                    return Err(match mismatched {
                        Some(got) => Error::SequenceMismatch { expected: seq, got },
                        None => Error::Timeout,
                    });
                }
                Err(error) => return Err(error),
            };
            if reply.seq != seq {
                // One command is outstanding at a time, so a reply with another number
                // answers an earlier command: one aborted, or one whose reply a closed page
                // never read (the reader keeps it queued for the next session). Dropping it
                // resynchronises, as libccid does with its "duplicate frame".
                if stale < MAX_STALE_REPLIES {
                    stale += 1;
                    mismatched = Some(reply.seq);
                    tracing::debug!(seq = reply.seq, expected = seq, "dropping a stale reply");
                    continue;
                }
                return Err(Error::SequenceMismatch {
                    expected: seq,
                    got: reply.seq,
                });
            }
            if reply.slot != self.options.slot {
                return Err(Error::SlotMismatch {
                    expected: self.options.slot,
                    got: reply.slot,
                });
            }
            if reply.message_type() != expected_type {
                return Err(Error::UnexpectedReply {
                    expected: expected_type,
                    got: reply.message_type(),
                });
            }
            if reply.state.command == CommandStatus::TimeExtension {
                extensions += 1;
                if extensions > self.options.max_time_extensions {
                    self.abort().await;
                    return Err(Error::EndlessTimeExtension(extensions));
                }
                // bError carries the multiplier of the waiting time the reader asks for.
                wait = timeout * u32::from(reply.error.max(1));
                continue;
            }
            return Ok(reply);
        }
    }

    pub(super) async fn send(&mut self, message: &[u8]) -> Result<(), Error> {
        let endpoint = self.interface.bulk_out;
        match self.interface.quirk.and_then(|quirk| quirk.bulk_out_chunk) {
            Some(chunk) if chunk > 0 => {
                for part in message.chunks(chunk) {
                    self.transport.bulk_out(endpoint, part).await?;
                }
            }
            _ => self.transport.bulk_out(endpoint, message).await?,
        }
        Ok(())
    }

    /// Reads one whole reply, from as many bulk-IN transfers as the reader splits it into.
    pub(super) async fn receive(&mut self, timeout: Duration) -> Result<Reply, Error> {
        let dialect = self.interface.dialect();
        let endpoint = self.interface.bulk_in;
        let max = self
            .interface
            .descriptor
            .max_message_length()
            .max(HEADER_LENGTH + 261);
        let chunk = self
            .interface
            .quirk
            .and_then(|quirk| quirk.bulk_in_chunk)
            .filter(|&chunk| chunk > 0);
        let mut message = Vec::new();
        let mut empty = 0u32;
        loop {
            let wanted = match Header::decode(&message, dialect) {
                Ok(header) => header.message_length().saturating_sub(message.len()),
                Err(_) => max.saturating_sub(message.len()),
            }
            .max(1);
            let wanted = chunk.map_or(wanted, |chunk| wanted.min(chunk));
            let part = match self.transport.bulk_in(endpoint, wanted, timeout).await {
                Ok(part) => part,
                Err(crate::transport::TransportError::Timeout) => return Err(Error::Timeout),
                Err(error) => return Err(error.into()),
            };
            if part.is_empty() {
                empty += 1;
                if empty > MAX_EMPTY_TRANSFERS {
                    return Err(crate::message::MessageError::Truncated {
                        have: message.len(),
                        need: HEADER_LENGTH.max(message.len() + 1),
                    }
                    .into());
                }
                continue;
            }
            message.extend_from_slice(&part);
            if message.len() < HEADER_LENGTH {
                continue;
            }
            let header = Header::decode(&message, dialect)?;
            if message.len() >= header.message_length() {
                return Ok(Reply::decode(&message, dialect)?);
            }
        }
    }

    /// Ends a command that did not answer (CCID §5.3.1): the ABORT class request, then
    /// PC_to_RDR_Abort with the same sequence number, then the reader's SlotStatus.
    pub(super) async fn abort(&mut self) {
        let seq = self.next_seq();
        let setup = control::abort(self.interface.interface_number, self.options.slot, seq);
        if let Err(error) = self.transport.control_out(setup, &[]).await {
            tracing::debug!(%error, "ABORT request failed");
        }
        let message = Command::Abort.encode(self.options.slot, seq, self.interface.dialect());
        if let Err(error) = self.send(&message).await {
            tracing::debug!(%error, "PC_to_RDR_Abort failed");
            return;
        }
        for _ in 0..=MAX_STALE_REPLIES {
            match self.receive(READER_TIMEOUT).await {
                Ok(reply) if reply.seq == seq => return,
                Ok(_) => continue,
                Err(error) => {
                    tracing::debug!(%error, "no answer to PC_to_RDR_Abort");
                    return;
                }
            }
        }
    }
}

pub(super) fn reply_type_for(command: &Command) -> u8 {
    match command {
        Command::IccPowerOn(_) | Command::XfrBlock { .. } | Command::Secure { .. } => {
            reply_type::DATA_BLOCK
        }
        Command::IccPowerOff | Command::GetSlotStatus | Command::Abort => reply_type::SLOT_STATUS,
        Command::GetParameters | Command::ResetParameters | Command::SetParameters(_) => {
            reply_type::PARAMETERS
        }
        Command::Escape(_) => reply_type::ESCAPE,
    }
}

pub(super) fn reply_data(reply: Reply) -> Result<Vec<u8>, Error> {
    match reply.body {
        ReplyBody::DataBlock { data, .. } => Ok(data),
        _ => Err(Error::UnexpectedReply {
            expected: reply_type::DATA_BLOCK,
            got: reply.message_type(),
        }),
    }
}
