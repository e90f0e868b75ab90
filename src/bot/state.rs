//! The dialogue state of a private chat, saved in redb after every step (so a restart resumes
//! where the user was).

use serde::{Deserialize, Serialize};

use crate::domain::{Category, Media, Priority};

/// A file attached to a ticket being written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub file_id: String,
    pub kind: String,
    pub name: String,
}

/// A ticket being written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub category: Category,
    pub printer: Option<String>,
    pub sku: Option<String>,
    pub quantity: Option<u32>,
    pub description: String,
    pub priority: Option<Priority>,
    pub attachments: Vec<Attachment>,
}

impl Draft {
    pub fn new(category: Category) -> Draft {
        Draft {
            category,
            printer: None,
            sku: None,
            quantity: None,
            description: String::new(),
            priority: None,
            attachments: vec![],
        }
    }
}

/// Where a private chat is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Main menu; free text goes to the FAQ.
    #[default]
    Idle,
    RegName,
    RegPhone {
        name: String,
    },
    RegDepartment {
        name: String,
        phone: String,
    },
    /// New ticket, step 1.
    Category,
    Printer {
        draft: Draft,
    },
    Item {
        draft: Draft,
    },
    Quantity {
        draft: Draft,
    },
    Description {
        draft: Draft,
    },
    Priority {
        draft: Draft,
    },
    Attachments {
        draft: Draft,
    },
    Confirm {
        draft: Draft,
    },
    /// "Ask a question" was pressed: the next text goes to the FAQ.
    Question,
    /// The FAQ answered `question`; "did it help?" is open.
    FaqAnswered {
        question: String,
    },
    /// Staff: the next message is the broadcast.
    BroadcastCompose,
    /// Staff: the broadcast was previewed; waiting for "send".
    BroadcastConfirm {
        text: String,
        media: Option<Media>,
    },
}
