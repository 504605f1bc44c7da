//! Protocol and rate negotiation after the ATR: PPS, SetParameters, and the T=1 IFSD request.

use crate::atr::{Atr, Convention, Edc};
use crate::descriptor::ExchangeLevel;
use crate::error::Error;
use crate::message::{Command, PowerSelect, ProtocolParameters, ReplyBody, HEADER_LENGTH};
use crate::pps::{self, PpsRequest, ReaderRates};
use crate::protocol::Protocol;
use crate::t1::{T1Host, T1Params};
use crate::transport::UsbTransport;

use super::message_io::reply_data;
use super::{
    CardSession, Link, LinkInfo, Reader, Timing, MIN_CARD_TIMEOUT, POWER_ON_TIMEOUT, READER_TIMEOUT,
};

impl<T: UsbTransport> Reader<T> {
    /// Chooses protocol and rate and sets the reader and card to them (ISO 7816-3 §6.3, §9;
    /// CCID §6.1.7).
    pub(super) async fn negotiate(&mut self, atr: Atr) -> Result<CardSession, Error> {
        let descriptor = self.interface.descriptor.clone();
        let automatic = descriptor.automatic();
        let level = descriptor.exchange_level();
        let reader_has = |protocol: Protocol| match protocol {
            Protocol::T0 => descriptor.supports_t0(),
            Protocol::T1 => descriptor.supports_t1(),
        };
        let atr_default_protocol = Protocol::from_number(atr.default_protocol());

        if level != ExchangeLevel::Tpdu {
            // APDU readers run the card themselves; ask what they settled on, for timing.
            let parameters = self.current_parameters().await;
            let protocol = parameters.map_or(atr_default_protocol, |p| Some(p.protocol()));
            let fi_di = parameters.map_or(atr.fi_di_index(), |p| p.fi_di());
            return Ok(CardSession {
                timing: Timing::new(&atr, fi_di, protocol, descriptor.default_clock_khz),
                info: LinkInfo {
                    protocol,
                    fi_di,
                    baud_rate: pps::baud_rate(fi_di, descriptor.default_clock_khz),
                    host_pps: false,
                },
                link: Link::Apdu,
                atr,
            });
        }

        let specific = atr.specific_mode();
        let chosen = match specific {
            Some(mode) => Protocol::from_number(mode.protocol),
            // T=1 where both can: it carries every APDU case without GET RESPONSE round trips.
            None if atr.offers(Protocol::T1) && reader_has(Protocol::T1) => Some(Protocol::T1),
            None if atr.offers(Protocol::T0) && reader_has(Protocol::T0) => Some(Protocol::T0),
            None => None,
        };
        let Some(protocol) = chosen.filter(|&protocol| reader_has(protocol)) else {
            return Err(Error::NoCommonProtocol {
                card: atr.protocols(),
            });
        };
        let rates = ReaderRates {
            clock_khz: descriptor.default_clock_khz,
            max_data_rate: descriptor.max_data_rate,
            data_rates: self.data_rates.clone(),
        };
        let mut fi_di = match specific {
            Some(mode) if mode.implicit_parameters => pps::DEFAULT_FI_DI,
            Some(_) => atr.fi_di_index(),
            None => pps::select_fi_di(atr.fi_di_index(), &rates),
        };
        let mut host_pps = false;

        if automatic.negotiation {
            // The reader negotiated by itself; learn the outcome.
            if let Some(params) = self.current_parameters().await {
                fi_di = params.fi_di();
                if params.protocol() != protocol && reader_has(params.protocol()) {
                    tracing::debug!(
                        protocol = %params.protocol(),
                        "the reader chose another protocol"
                    );
                }
            }
        } else {
            let needs_pps = specific.is_none()
                && (Some(protocol) != atr_default_protocol || fi_di != pps::DEFAULT_FI_DI);
            if needs_pps && !automatic.pps {
                match self.exchange_pps(protocol, fi_di).await {
                    Ok(agreed) => {
                        fi_di = agreed;
                        host_pps = true;
                    }
                    Err(error) => {
                        // ISO 7816-3 §9.3: after a failed PPS the card must be reset; then
                        // run it at its defaults, if its default protocol will do.
                        tracing::debug!(%error, "PPS failed; resetting to default parameters");
                        let Some(protocol_after_reset) = atr_default_protocol
                            .filter(|&default| default == protocol || reader_has(default))
                        else {
                            return Err(error);
                        };
                        self.power_off_quietly().await;
                        let reply = self
                            .exchange(
                                Command::IccPowerOn(
                                    self.power_selects()
                                        .first()
                                        .copied()
                                        .unwrap_or(PowerSelect::Automatic),
                                ),
                                POWER_ON_TIMEOUT,
                            )
                            .await?;
                        self.check(&reply)?;
                        fi_di = pps::DEFAULT_FI_DI;
                        return self
                            .finish_negotiation(atr, protocol_after_reset, fi_di, false)
                            .await;
                    }
                }
            }
            let parameters_needed = !automatic.parameters_from_atr || host_pps || automatic.pps;
            if parameters_needed {
                self.set_parameters(&atr, protocol, fi_di).await?;
            }
        }
        self.finish_negotiation(atr, protocol, fi_di, host_pps)
            .await
    }

    pub(super) async fn finish_negotiation(
        &mut self,
        atr: Atr,
        protocol: Protocol,
        fi_di: u8,
        host_pps: bool,
    ) -> Result<CardSession, Error> {
        let clock_khz = self.interface.descriptor.default_clock_khz;
        let link = match protocol {
            Protocol::T1 => Link::T1(Some(T1Host::new(self.t1_params(&atr)))),
            Protocol::T0 => Link::T0,
        };
        Ok(CardSession {
            timing: Timing::new(&atr, fi_di, Some(protocol), clock_khz),
            info: LinkInfo {
                protocol: Some(protocol),
                fi_di,
                baud_rate: pps::baud_rate(fi_di, clock_khz),
                host_pps,
            },
            link,
            atr,
        })
    }

    pub(super) fn t1_params(&self, atr: &Atr) -> T1Params {
        let descriptor = &self.interface.descriptor;
        // A block is prologue (3) + INF + EDC (up to 2) inside one CCID message.
        let message_room = descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH + 5);
        let cap = |value: usize| u8::try_from(value.min(254)).unwrap_or(254).max(1);
        let max_ifsd = usize::try_from(descriptor.max_ifsd).unwrap_or(usize::MAX);
        T1Params {
            ifsc: cap(usize::from(atr.ifsc()).min(message_room)),
            ifsd: cap(usize::from(self.options.ifsd)
                .min(max_ifsd.max(1))
                .min(message_room)),
            edc: atr.t1_edc(),
            nad: 0,
        }
    }

    pub(super) async fn current_parameters(&mut self) -> Option<ProtocolParameters> {
        let reply = self
            .exchange(Command::GetParameters, READER_TIMEOUT)
            .await
            .ok()?;
        self.check(&reply).ok()?;
        match reply.body {
            ReplyBody::Parameters(params) => params,
            _ => None,
        }
    }

    pub(super) async fn exchange_pps(
        &mut self,
        protocol: Protocol,
        fi_di: u8,
    ) -> Result<u8, Error> {
        let request = PpsRequest {
            protocol,
            fi_di: (fi_di != pps::DEFAULT_FI_DI).then_some(fi_di),
            pps2: None,
            pps3: None,
        };
        let bytes = request.to_bytes();
        let reply = self
            .exchange(
                Command::XfrBlock {
                    bwi: 0,
                    level: 0,
                    data: bytes,
                },
                MIN_CARD_TIMEOUT,
            )
            .await?;
        self.check(&reply)?;
        let response = reply_data(reply)?;
        let outcome = request.check_response(&response)?;
        Ok(outcome.fi_di)
    }

    pub(super) async fn set_parameters(
        &mut self,
        atr: &Atr,
        protocol: Protocol,
        fi_di: u8,
    ) -> Result<(), Error> {
        let inverse = u8::from(atr.convention() == Convention::Inverse) << 1;
        let params = match protocol {
            Protocol::T1 => {
                let t1 = self.t1_params(atr);
                ProtocolParameters::T1 {
                    fi_di,
                    tcckst: 0x10 | inverse | u8::from(atr.t1_edc() == Edc::Crc),
                    guard_time: atr.extra_guard_time(),
                    waiting_integers: atr.bwi() << 4 | (atr.cwi() & 0x0F),
                    clock_stop: 0,
                    ifsc: t1.ifsc,
                    nad: 0,
                }
            }
            Protocol::T0 => ProtocolParameters::T0 {
                fi_di,
                tcckst: inverse,
                guard_time: atr.extra_guard_time(),
                waiting_integer: atr.t0_wi(),
                clock_stop: 0,
            },
        };
        let reply = self
            .exchange(Command::SetParameters(params), READER_TIMEOUT)
            .await?;
        self.check(&reply)
    }

    pub(super) async fn announce_ifsd(&mut self) -> Result<(), Error> {
        let mut host = self.take_t1()?;
        let result = match host.start_ifsd() {
            Ok(first) => self.run_t1(&mut host, first).await,
            Err(error) => Err(error.into()),
        };
        self.put_back_t1(host, &result);
        result.map(|_| ())
    }
}
