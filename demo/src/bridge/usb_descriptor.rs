//! The standard parts of a configuration descriptor (USB 2.0 §9.6.3–9.6.6), read into the shape
//! WebUSB gives a page: configuration → interfaces → alternate settings → endpoints.

use super::protocol::{
    AlternateDescription, ConfigurationDescription, Direction, EndpointDescription, EndpointType,
    InterfaceDescription,
};

const CONFIGURATION: u8 = 0x02;
const INTERFACE: u8 = 0x04;
const ENDPOINT: u8 = 0x05;

/// Why a configuration descriptor could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsbDescriptorError {
    /// A descriptor's `bLength` is too short for its type or runs past the end.
    #[error("descriptor at offset {0} is cut short")]
    Truncated(usize),
    /// The bytes do not start with a configuration descriptor.
    #[error("the bytes do not start with a configuration descriptor")]
    NotAConfiguration,
    /// An endpoint descriptor comes before any interface descriptor.
    #[error("an endpoint descriptor at offset {0} belongs to no interface")]
    StrayEndpoint(usize),
}

/// Reads a whole configuration descriptor (with its interface, endpoint and class descriptors).
pub fn parse_configuration(bytes: &[u8]) -> Result<ConfigurationDescription, UsbDescriptorError> {
    let mut configuration: Option<ConfigurationDescription> = None;
    let mut offset = 0;
    while offset < bytes.len() {
        let length = usize::from(bytes[offset]);
        let Some(descriptor) = bytes.get(offset..offset + length).filter(|d| d.len() >= 2) else {
            return Err(UsbDescriptorError::Truncated(offset));
        };
        let field = |index: usize| {
            descriptor
                .get(index)
                .copied()
                .ok_or(UsbDescriptorError::Truncated(offset))
        };
        match (descriptor[1], &mut configuration) {
            (CONFIGURATION, None) => {
                configuration = Some(ConfigurationDescription {
                    configuration_value: field(5)?,
                    configuration_name: None,
                    interfaces: Vec::new(),
                });
            }
            (_, None) => return Err(UsbDescriptorError::NotAConfiguration),
            (INTERFACE, Some(configuration)) => {
                let number = field(2)?;
                let alternate = AlternateDescription {
                    alternate_setting: field(3)?,
                    interface_class: field(5)?,
                    interface_subclass: field(6)?,
                    interface_protocol: field(7)?,
                    interface_name: None,
                    endpoints: Vec::new(),
                };
                let interfaces = &mut configuration.interfaces;
                match interfaces.iter_mut().find(|i| i.interface_number == number) {
                    Some(interface) => interface.alternates.push(alternate),
                    None => interfaces.push(InterfaceDescription {
                        interface_number: number,
                        alternates: vec![alternate],
                    }),
                }
            }
            (ENDPOINT, Some(configuration)) => {
                let address = field(2)?;
                let attributes = field(3)?;
                let packet_size = u16::from_le_bytes([field(4)?, field(5)?]) & 0x07FF;
                let endpoint = EndpointDescription {
                    endpoint_number: address & 0x0F,
                    direction: if address & 0x80 != 0 {
                        Direction::In
                    } else {
                        Direction::Out
                    },
                    endpoint_type: match attributes & 0x03 {
                        1 => EndpointType::Isochronous,
                        2 => EndpointType::Bulk,
                        _ => EndpointType::Interrupt,
                    },
                    packet_size,
                };
                // Endpoints follow the interface descriptor they belong to.
                let alternate = configuration
                    .interfaces
                    .last_mut()
                    .and_then(|interface| interface.alternates.last_mut())
                    .ok_or(UsbDescriptorError::StrayEndpoint(offset))?;
                alternate.endpoints.push(endpoint);
            }
            // Class descriptors (the CCID one among them) are the driver's business.
            _ => {}
        }
        offset += length;
    }
    configuration.ok_or(UsbDescriptorError::NotAConfiguration)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_reader_configuration_reads_as_webusb_shows_it() {
        let mut bytes = vec![0x09, 0x02, 0, 0, 1, 1, 0, 0x80, 50];
        bytes.extend_from_slice(&[0x09, 0x04, 0, 0, 3, 0x0B, 0, 0, 0]);
        bytes.extend_from_slice(&[0x36, 0x21]);
        bytes.extend_from_slice(&[0; 0x34]);
        bytes.extend_from_slice(&[0x07, 0x05, 0x02, 0x02, 64, 0, 0]);
        bytes.extend_from_slice(&[0x07, 0x05, 0x82, 0x02, 64, 0, 0]);
        bytes.extend_from_slice(&[0x07, 0x05, 0x83, 0x03, 8, 0, 0x10]);
        let configuration = parse_configuration(&bytes).unwrap();
        assert_eq!(configuration.configuration_value, 1);
        let alternate = &configuration.interfaces[0].alternates[0];
        assert_eq!(alternate.interface_class, 0x0B);
        let endpoints: Vec<_> = alternate
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.endpoint_number,
                    e.direction,
                    e.endpoint_type,
                    e.packet_size,
                )
            })
            .collect();
        assert_eq!(
            endpoints,
            [
                (2, Direction::Out, EndpointType::Bulk, 64),
                (2, Direction::In, EndpointType::Bulk, 64),
                (3, Direction::In, EndpointType::Interrupt, 8),
            ]
        );
    }

    #[test]
    fn damaged_descriptors_are_errors() {
        assert!(parse_configuration(&[0x09, 0x02, 0, 0]).is_err());
        assert!(parse_configuration(&[0x00, 0x02]).is_err());
        assert!(parse_configuration(&[0x09, 0x04, 0, 0, 3, 0x0B, 0, 0, 0]).is_err());
        assert!(
            parse_configuration(&[0x09, 0x02, 0, 0, 1, 1, 0, 0x80, 50, 7, 5, 2, 2, 64, 0, 0])
                .is_err()
        );
        assert!(parse_configuration(&[]).is_err());
    }
}
