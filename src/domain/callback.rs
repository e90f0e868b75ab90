//! Inline-button callback data: one compact, versionless text form per action, at most 64
//! bytes (Telegram's limit). Decoding never trusts the text: anything malformed is `None`.

/// What an inline button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// Staff: take the ticket.
    Take(u64),
    /// Staff: show whom to assign the ticket to.
    AssignMenu(u64),
    /// Staff: assign the ticket to a login.
    AssignTo(u64, String),
    Resolve(u64),
    /// Staff: reject (the bot then asks for the reason).
    Reject(u64),
    Reopen(u64),
    /// Requester: confirm the resolution.
    Confirm(u64),
    /// Requester: the problem is not solved.
    ReopenOwn(u64),
    /// Requester: rate 1–5.
    Rate(u64, u8),
    /// Requester: the FAQ answer helped / did not help.
    FaqHelpful(u64),
    FaqNotHelpful(u64),
    /// Requester: picked one of the suggested FAQ entries.
    FaqPick(u64),
    /// A choice inside the current dialogue step (category, item, priority, back, cancel …).
    Dialog(String),
    /// Page of the requester's ticket list, or one ticket's details.
    MyPage(u32),
    MyTicket(u64),
}

/// Telegram's limit on callback data, in bytes.
pub const MAX_BYTES: usize = 64;

impl Callback {
    /// The text form; `None` when it would exceed [`MAX_BYTES`].
    pub fn encode(&self) -> Option<String> {
        let s = match self {
            Callback::Take(id) => format!("tk:{id}"),
            Callback::AssignMenu(id) => format!("am:{id}"),
            Callback::AssignTo(id, login) => format!("at:{id}:{login}"),
            Callback::Resolve(id) => format!("rs:{id}"),
            Callback::Reject(id) => format!("rj:{id}"),
            Callback::Reopen(id) => format!("ro:{id}"),
            Callback::Confirm(id) => format!("cf:{id}"),
            Callback::ReopenOwn(id) => format!("rr:{id}"),
            Callback::Rate(id, stars) => format!("rt:{id}:{stars}"),
            Callback::FaqHelpful(id) => format!("fy:{id}"),
            Callback::FaqNotHelpful(id) => format!("fn:{id}"),
            Callback::FaqPick(id) => format!("fp:{id}"),
            Callback::Dialog(choice) => format!("d:{choice}"),
            Callback::MyPage(p) => format!("mp:{p}"),
            Callback::MyTicket(id) => format!("mt:{id}"),
        };
        (s.len() <= MAX_BYTES).then_some(s)
    }

    /// Parses callback data; `None` for anything malformed, over-long or unknown.
    pub fn decode(data: &str) -> Option<Callback> {
        if data.len() > MAX_BYTES {
            return None;
        }
        let (tag, rest) = data.split_once(':')?;
        let id = || canonical(rest).filter(|n| *n > 0);
        Some(match tag {
            "tk" => Callback::Take(id()?),
            "am" => Callback::AssignMenu(id()?),
            "rs" => Callback::Resolve(id()?),
            "rj" => Callback::Reject(id()?),
            "ro" => Callback::Reopen(id()?),
            "cf" => Callback::Confirm(id()?),
            "rr" => Callback::ReopenOwn(id()?),
            "fy" => Callback::FaqHelpful(id()?),
            "fn" => Callback::FaqNotHelpful(id()?),
            "fp" => Callback::FaqPick(id()?),
            "mt" => Callback::MyTicket(id()?),
            "mp" => Callback::MyPage(
                canonical(rest)
                    .filter(|p| *p < 10_000)
                    .and_then(|p| u32::try_from(p).ok())?,
            ),
            "at" => {
                let (n, login) = rest.split_once(':')?;
                let n = canonical(n).filter(|n| *n > 0)?;
                crate::domain::validate::login(login)
                    .ok()
                    .filter(|l| l == login)?;
                Callback::AssignTo(n, login.to_string())
            }
            "rt" => {
                let (n, stars) = rest.split_once(':')?;
                let n = canonical(n).filter(|n| *n > 0)?;
                let stars = canonical(stars).filter(|s| (1..=5).contains(s))?;
                Callback::Rate(n, stars as u8)
            }
            "d" => {
                if rest.is_empty()
                    || !rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
                {
                    return None;
                }
                Callback::Dialog(rest.to_string())
            }
            _ => return None,
        })
    }
}

/// A number in the one form `encode` writes: digits only, no sign, no leading zero.
fn canonical(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits && (s == "0" || !s.starts_with('0')))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let all = [
            Callback::Take(1),
            Callback::AssignMenu(2),
            Callback::AssignTo(3, "olga.k".into()),
            Callback::Resolve(u64::MAX),
            Callback::Reject(5),
            Callback::Reopen(6),
            Callback::Confirm(7),
            Callback::ReopenOwn(8),
            Callback::Rate(9, 5),
            Callback::FaqHelpful(10),
            Callback::FaqNotHelpful(11),
            Callback::FaqPick(12),
            Callback::Dialog("cat:printer".into()),
            Callback::MyPage(0),
            Callback::MyTicket(13),
        ];
        for c in all {
            let s = c.encode().unwrap();
            assert!(s.len() <= MAX_BYTES);
            assert_eq!(Callback::decode(&s), Some(c), "{s}");
        }
    }

    #[test]
    fn refuses_malformed_data() {
        for bad in [
            "",
            "tk",
            "tk:",
            "tk:0",
            "tk:-1",
            "tk:+1",
            "tk:01",
            "tk:abc",
            "tk:99999999999999999999",
            "zz:1",
            "rt:1:6",
            "rt:1:0",
            "rt:1",
            "at:1:",
            "at:1:Bad Login",
            "at:0:olga",
            "d:",
            "d:a b",
            "d:<script>",
            "mp:x",
            "mp:99999",
        ] {
            assert_eq!(Callback::decode(bad), None, "{bad:?}");
        }
        assert_eq!(Callback::decode(&format!("d:{}", "a".repeat(70))), None);
        assert_eq!(Callback::AssignTo(1, "x".repeat(70)).encode(), None);
    }

    /// Found by `tests/fuzz.rs` (callback_data): `mp:007`, `at:+3:olga`, `rt:01:5` were
    /// accepted although the bot never writes them; every action has one text form.
    #[test]
    fn fuzz_regression_numbers_only_in_canonical_form() {
        for bad in [
            "mp:007",
            "mp:+7",
            "mp:00",
            "at:+3:olga",
            "at:03:olga",
            "rt:01:5",
            "rt:1:+5",
            "rt:1:05",
        ] {
            assert_eq!(Callback::decode(bad), None, "{bad:?}");
        }
        assert_eq!(Callback::decode("mp:0"), Some(Callback::MyPage(0)));
        assert_eq!(Callback::decode("mp:70"), Some(Callback::MyPage(70)));
        assert_eq!(Callback::decode("rt:10:5"), Some(Callback::Rate(10, 5)));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            let len = (x % 70) as usize;
            let s: String = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    char::from_u32(32 + (x >> 16) % 95).unwrap_or('a')
                })
                .collect();
            let _ = Callback::decode(&s);
        }
    }
}
