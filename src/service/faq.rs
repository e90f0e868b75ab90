//! FAQ entries: create, edit, import.

use super::*;
use crate::domain::validate;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaqImportReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Service {
    /// Creates (`id: None`) or updates an FAQ entry.
    pub fn upsert_faq(
        &self,
        actor: &Actor,
        id: Option<u64>,
        question: &str,
        alternatives: &[String],
        answer: &str,
        enabled: bool,
    ) -> Result<FaqEntry> {
        require(actor, Action::ManageFaq, None)?;
        let (question, alternatives, answer) = clean_faq(question, alternatives, answer)?;
        let now = self.now();
        let mut tx = self.write()?;
        let entry = match id {
            Some(id) => {
                let mut e = tx
                    .faq_entry(id)?
                    .ok_or_else(|| ServiceError::NotFound(format!("FAQ entry {id}")))?;
                e.question = question;
                e.alternatives = alternatives;
                e.answer = answer;
                e.enabled = enabled;
                e.updated_at = now;
                e
            }
            None => FaqEntry {
                id: tx.next_id(crate::store::Seq::Faq)?,
                question,
                alternatives,
                answer,
                enabled,
                hits: 0,
                helpful: 0,
                not_helpful: 0,
                updated_at: now,
            },
        };
        tx.put_faq(&entry)?;
        let action = if id.is_some() {
            "faq.update"
        } else {
            "faq.create"
        };
        tx.add_audit(
            now,
            actor,
            action,
            format!("faq:{}", entry.id),
            entry.question.clone(),
        )?;
        self.commit(tx)?;
        self.index_faq(std::slice::from_ref(&entry));
        Ok(entry)
    }

    /// Imports entries in one transaction: an entry with the same question (ignoring case) is
    /// updated, others are added. Any invalid entry refuses the whole import, naming it.
    pub fn import_faq(
        &self,
        actor: &Actor,
        entries: &[(String, String, Vec<String>)],
    ) -> Result<FaqImportReport> {
        require(actor, Action::ManageFaq, None)?;
        let mut cleaned = Vec::with_capacity(entries.len());
        for (i, (q, a, alts)) in entries.iter().enumerate() {
            let c = clean_faq(q, alts, a).map_err(|e| {
                ValidationError::new(e.field, format!("entry {}: {}", i + 1, e.problem))
            })?;
            cleaned.push(c);
        }
        let now = self.now();
        let mut tx = self.write()?;
        let mut by_question: std::collections::HashMap<String, FaqEntry> = tx
            .faq_all()?
            .into_iter()
            .map(|e| (e.question.to_lowercase(), e))
            .collect();
        let mut report = FaqImportReport::default();
        for (question, alternatives, answer) in cleaned {
            let key = question.to_lowercase();
            match by_question.get_mut(&key) {
                Some(e)
                    if e.answer == answer
                        && e.alternatives == alternatives
                        && e.question == question =>
                {
                    report.unchanged += 1;
                }
                Some(e) => {
                    e.question = question;
                    e.alternatives = alternatives;
                    e.answer = answer;
                    e.updated_at = now;
                    tx.put_faq(e)?;
                    report.updated += 1;
                }
                None => {
                    let e = FaqEntry {
                        id: tx.next_id(crate::store::Seq::Faq)?,
                        question,
                        alternatives,
                        answer,
                        enabled: true,
                        hits: 0,
                        helpful: 0,
                        not_helpful: 0,
                        updated_at: now,
                    };
                    tx.put_faq(&e)?;
                    by_question.insert(key, e);
                    report.added += 1;
                }
            }
        }
        tx.add_audit(
            now,
            actor,
            "faq.import",
            "faq".into(),
            format!(
                "added {}, updated {}, unchanged {}",
                report.added, report.updated, report.unchanged
            ),
        )?;
        self.commit(tx)?;
        let all = self.read()?.faq_all()?;
        self.index_faq(&all);
        Ok(report)
    }
}

fn clean_faq(
    question: &str,
    alternatives: &[String],
    answer: &str,
) -> Result<(String, Vec<String>, String), ValidationError> {
    let question = validate::text("question", question, 2, 500)?;
    let answer = validate::text("answer", answer, 1, validate::MAX_TEXT)?;
    let mut alts = Vec::new();
    for a in alternatives {
        let a = a.trim();
        if !a.is_empty() {
            alts.push(validate::text("alternatives", a, 2, 500)?);
        }
    }
    if alts.len() > 50 {
        return Err(ValidationError::new(
            "alternatives",
            "at most 50 alternative phrasings",
        ));
    }
    Ok((question, alts, answer))
}

impl Service {
    /// Opens (or rebuilds) the FAQ index in `dir` from the stored entries and attaches it.
    pub fn attach_faq_index(&self, dir: &std::path::Path) -> Result<()> {
        let entries = self.read()?.faq_all()?;
        let index = crate::search::FaqIndex::open_or_rebuild(dir, &entries)
            .map_err(|e| ServiceError::Conflict(format!("FAQ index: {e}")))?;
        tracing::info!(entries = entries.len(), opened = ?index.opened(), "FAQ index ready");
        let _ = self.inner.faq_index.set(index);
        Ok(())
    }

    /// Attaches an in-memory FAQ index (tests).
    pub fn attach_faq_index_in_memory(&self) -> Result<()> {
        let entries = self.read()?.faq_all()?;
        let index = crate::search::FaqIndex::in_memory(&entries)
            .map_err(|e| ServiceError::Conflict(format!("FAQ index: {e}")))?;
        let _ = self.inner.faq_index.set(index);
        Ok(())
    }

    fn index_faq(&self, entries: &[FaqEntry]) {
        let Some(index) = self.inner.faq_index.get() else {
            return;
        };
        for e in entries {
            if let Err(err) = index.upsert(e) {
                tracing::error!(faq = e.id, "cannot update the FAQ index: {err}");
            }
        }
    }

    /// What the FAQ says to a question; `NoMatch` when there is no index.
    pub fn faq_answer(&self, question: &str) -> Result<(crate::search::Answer, Vec<FaqEntry>)> {
        let Some(index) = self.inner.faq_index.get() else {
            return Ok((crate::search::Answer::NoMatch, vec![]));
        };
        let answer = index
            .answer(question)
            .map_err(|e| ServiceError::Conflict(format!("FAQ search: {e}")))?;
        let tx = self.read()?;
        let ids: Vec<u64> = match &answer {
            crate::search::Answer::Confident(h) => vec![h.id],
            crate::search::Answer::Suggestions(hs) => hs.iter().map(|h| h.id).collect(),
            crate::search::Answer::NoMatch => vec![],
        };
        let mut entries = Vec::new();
        for id in ids {
            if let Some(e) = tx.faq_entry(id)?.filter(|e| e.enabled) {
                entries.push(e);
            }
        }
        Ok((answer, entries))
    }

    /// Counts an answer given (`helpful: None`) or the requester's verdict on it.
    pub fn faq_feedback(&self, id: u64, helpful: Option<bool>) -> Result<()> {
        let mut tx = self.write()?;
        let Some(mut e) = tx.faq_entry(id)? else {
            return Ok(());
        };
        match helpful {
            None => e.hits += 1,
            Some(true) => e.helpful += 1,
            Some(false) => e.not_helpful += 1,
        }
        tx.put_faq(&e)?;
        self.commit(tx)?;
        Ok(())
    }
}
