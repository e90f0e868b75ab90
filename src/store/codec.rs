//! The record codec: one format byte, then the record in bincode 2 (serde, standard config).
//!
//! Every value stored in redb goes through here, so a future format change is one new arm in
//! [`decode`] plus a migration, never a guess about old bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Format byte written in front of every record.
pub const FORMAT_V1: u8 = 1;

/// Why stored bytes could not be read back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("empty record")]
    Empty,
    #[error("record format {0} is not known to this version of helpdesk")]
    UnknownFormat(u8),
    #[error("damaged record: {0}")]
    Damaged(String),
    #[error("damaged record: {0} trailing bytes")]
    Trailing(usize),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a record with the current format byte.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(FORMAT_V1);
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("encoding into a Vec<u8> cannot fail for plain records");
    out
}

/// Decodes a record, checking the format byte and that every byte was used.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&format, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    match format {
        FORMAT_V1 => {
            let (value, used) = bincode::serde::decode_from_slice(body, config())
                .map_err(|e| CodecError::Damaged(e.to_string()))?;
            if used != body.len() {
                return Err(CodecError::Trailing(body.len() - used));
            }
            Ok(value)
        }
        other => Err(CodecError::UnknownFormat(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;

    fn ticket() -> Ticket {
        Ticket {
            id: 7,
            requester: Some(123456789),
            requester_name: "Иван Петров".into(),
            department: Some("Бухгалтерия".into()),
            category: Category::CartridgeOrder,
            priority: Priority::High,
            status: TicketStatus::InProgress,
            assignee: Some("olena".into()),
            subject: "Картридж".into(),
            description: "Нужен картридж 85A ✓".into(),
            order_lines: vec![OrderLine {
                sku: "CE285A".into(),
                name: "HP 85A".into(),
                quantity: 2,
            }],
            source: Source::Telegram,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_100,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            response_due: Some(1_700_003_600),
            resolve_due: None,
            rejection_reason: None,
            rating: None,
        }
    }

    #[test]
    fn round_trips_records() {
        let t = ticket();
        assert_eq!(decode::<Ticket>(&encode(&t)), Ok(t));
        let ev = TicketEvent {
            ticket_id: 7,
            seq: 3,
            at: -5,
            actor: Actor::Staff {
                login: "a".into(),
                role: Role::Admin,
            },
            kind: EventKind::StatusChanged {
                from: TicketStatus::New,
                to: TicketStatus::Rejected,
            },
        };
        assert_eq!(decode::<TicketEvent>(&encode(&ev)), Ok(ev));
        let row = OutboxRow {
            id: 1,
            created_at: 0,
            message: OutboxMessage::Telegram {
                chat_id: -100123,
                text: "x".into(),
                markup: Markup::Inline(vec![vec![Button {
                    label: "ok".into(),
                    data: "t:1".into(),
                    url: None,
                }]]),
                thread_id: Some(5),
                reply_to: None,
                media: Some(Media {
                    kind: "photo".into(),
                    file_id: "AgAD".into(),
                }),
            },
            ticket_id: Some(1),
            batch: Some(3),
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
            failed: false,
        };
        assert_eq!(decode::<OutboxRow>(&encode(&row)), Ok(row));
    }

    #[test]
    fn starts_with_the_format_byte() {
        assert_eq!(encode(&ticket())[0], FORMAT_V1);
    }

    #[test]
    fn refuses_unknown_format_empty_and_damaged_bytes() {
        let mut bytes = encode(&ticket());
        assert_eq!(decode::<Ticket>(&[]), Err(CodecError::Empty));
        bytes[0] = 9;
        assert_eq!(decode::<Ticket>(&bytes), Err(CodecError::UnknownFormat(9)));
        let good = encode(&ticket());
        assert!(matches!(
            decode::<Ticket>(&good[..good.len() / 2]),
            Err(CodecError::Damaged(_))
        ));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode::<Ticket>(&long), Err(CodecError::Trailing(1)));
    }
}
