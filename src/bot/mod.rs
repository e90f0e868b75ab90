//! Telegram adapter (teloxide).

pub mod cards;
