//! A configuration descriptor in the shape WebUSB gives a page: configuration → interfaces →
//! alternate settings → endpoints. The driver's walk reads the bytes; this only regroups them.

use ccid::descriptor::{
    walk_configuration, DescriptorError, EndpointDescriptor, InterfaceSetting, TransferType,
};

use super::protocol::{
    AlternateDescription, ConfigurationDescription, Direction, EndpointDescription, EndpointType,
    InterfaceDescription,
};

/// Reads a whole configuration descriptor (with its interface, endpoint and class descriptors).
pub fn parse_configuration(bytes: &[u8]) -> Result<ConfigurationDescription, DescriptorError> {
    let layout = walk_configuration(bytes)?;
    let mut interfaces: Vec<InterfaceDescription> = Vec::new();
    // WebUSB lists each interface once, its alternate settings under it in descriptor order.
    for setting in &layout.interfaces {
        let alternate = alternate_description(setting);
        match interfaces
            .iter_mut()
            .find(|i| i.interface_number == setting.interface_number)
        {
            Some(interface) => interface.alternates.push(alternate),
            None => interfaces.push(InterfaceDescription {
                interface_number: setting.interface_number,
                alternates: vec![alternate],
            }),
        }
    }
    Ok(ConfigurationDescription {
        configuration_value: layout.configuration_value,
        configuration_name: None,
        interfaces,
    })
}

fn alternate_description(setting: &InterfaceSetting<'_>) -> AlternateDescription {
    AlternateDescription {
        alternate_setting: setting.alternate_setting,
        interface_class: setting.interface_class,
        interface_subclass: setting.interface_subclass,
        interface_protocol: setting.interface_protocol,
        interface_name: None,
        endpoints: setting.endpoints.iter().map(endpoint_description).collect(),
    }
}

fn endpoint_description(endpoint: &EndpointDescriptor) -> EndpointDescription {
    EndpointDescription {
        endpoint_number: endpoint.number(),
        direction: if endpoint.is_in() {
            Direction::In
        } else {
            Direction::Out
        },
        endpoint_type: match endpoint.transfer_type() {
            TransferType::Isochronous => EndpointType::Isochronous,
            TransferType::Bulk => EndpointType::Bulk,
            // WebUSB has no control type for endpoints; such a descriptor is out of spec.
            TransferType::Interrupt | TransferType::Control => EndpointType::Interrupt,
        },
        packet_size: endpoint.max_packet_size,
    }
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
        bytes.extend_from_slice(&[0x09, 0x04, 1, 0, 1, 0x03, 0, 0, 0]);
        bytes.extend_from_slice(&[0x07, 0x05, 0x84, 0x03, 8, 0, 0x10]);
        bytes.extend_from_slice(&[0x09, 0x04, 0, 1, 0, 0x0B, 0, 0, 0]);
        let total = u16::try_from(bytes.len()).unwrap().to_le_bytes();
        bytes[2..4].copy_from_slice(&total);
        let configuration = parse_configuration(&bytes).unwrap();
        // Interface 0's second setting comes after interface 1 and still goes under 0.
        let grouped: Vec<(u8, Vec<u8>)> = configuration
            .interfaces
            .iter()
            .map(|i| {
                let settings = i.alternates.iter().map(|a| a.alternate_setting).collect();
                (i.interface_number, settings)
            })
            .collect();
        assert_eq!(grouped, [(0, vec![0, 1]), (1, vec![0])]);
        assert_eq!(configuration.configuration_value, 1);
        assert_eq!(
            configuration.interfaces[1].alternates[0].interface_class,
            0x03
        );
        let alternate = &configuration.interfaces[0].alternates[0];
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
    fn damaged_descriptors_are_the_drivers_errors() {
        assert!(matches!(
            parse_configuration(&[0x09, 0x02, 0, 0]),
            Err(DescriptorError::Malformed { .. })
        ));
    }
}
