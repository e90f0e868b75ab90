//! FAQ entries the bot answers from by itself.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A question with its alternative phrasings and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    pub id: u64,
    pub question: String,
    pub alternatives: Vec<String>,
    pub answer: String,
    pub enabled: bool,
    /// Times the bot answered with it.
    pub hits: u64,
    pub helpful: u64,
    pub not_helpful: u64,
    pub updated_at: Timestamp,
}
