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

// ----- Panel: try box, enable/disable, CSV import and export -----

/// Longest question accepted by [`Service::faq_try`], in characters.
pub const MAX_TRY_QUESTION: usize = 500;
/// Candidates [`Service::faq_try`] lists.
pub const TRY_CANDIDATES: usize = 5;

/// Parses an FAQ CSV file: a header row naming `question` and `answer` (and optionally
/// `alternatives`, separated by `|`), in any order, comma- or semicolon-separated; a leading
/// BOM is ignored, blank rows are skipped. Every entry is validated; the first problem is
/// returned naming its line.
pub fn parse_faq_csv(text: &str) -> Result<Vec<(String, String, Vec<String>)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = if text
        .lines()
        .next()
        .is_some_and(|h| h.contains(';') && !h.contains(','))
    {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| format!("line 1: {e}"))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(q), Some(a)) = (col("question"), col("answer")) else {
        return Err(
            "line 1: the header must name the columns question,answer[,alternatives]".into(),
        );
    };
    let alt = col("alternatives");
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let question = rec.get(q).unwrap_or("").to_string();
        let answer = rec.get(a).unwrap_or("").to_string();
        if question.trim().is_empty() || answer.trim().is_empty() {
            return Err(format!(
                "line {line}: both question and answer are required"
            ));
        }
        let alternatives: Vec<String> = alt
            .and_then(|i| rec.get(i))
            .map(|s| {
                s.split('|')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        clean_faq(&question, &alternatives, &answer).map_err(|e| format!("line {line}: {e}"))?;
        out.push((question, answer, alternatives));
    }
    if out.is_empty() {
        return Err("no FAQ entries found".into());
    }
    Ok(out)
}

impl Service {
    /// What the bot would answer to `question`, and the best [`TRY_CANDIDATES`] entries with
    /// their scores, without counting anything. `NoMatch` and no candidates when there is no
    /// index.
    pub fn faq_try(
        &self,
        actor: &Actor,
        question: &str,
    ) -> Result<(crate::search::Answer, Vec<crate::search::Hit>)> {
        require(actor, Action::ManageFaq, None)?;
        let q = validate::text("question", question, 1, MAX_TRY_QUESTION)?;
        let Some(index) = self.inner.faq_index.get() else {
            return Ok((crate::search::Answer::NoMatch, vec![]));
        };
        let search_error =
            |e: crate::search::SearchError| ServiceError::Conflict(format!("FAQ search: {e}"));
        let answer = index.answer(&q).map_err(search_error)?;
        let hits = index.search(&q, TRY_CANDIDATES).map_err(search_error)?;
        Ok((answer, hits))
    }

    /// Enables or disables an FAQ entry (a disabled one is never answered).
    pub fn set_faq_enabled(&self, actor: &Actor, id: u64, enabled: bool) -> Result<FaqEntry> {
        require(actor, Action::ManageFaq, None)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut e = tx
            .faq_entry(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("FAQ entry {id}")))?;
        if e.enabled == enabled {
            return Ok(e);
        }
        e.enabled = enabled;
        e.updated_at = now;
        tx.put_faq(&e)?;
        let action = if enabled { "faq.enable" } else { "faq.disable" };
        tx.add_audit(now, actor, action, format!("faq:{id}"), e.question.clone())?;
        self.commit(tx)?;
        self.index_faq(std::slice::from_ref(&e));
        Ok(e)
    }

    /// Imports an FAQ CSV file (see [`parse_faq_csv`]) in one transaction; a bad file changes
    /// nothing and the error names its line.
    pub fn import_faq_csv(&self, actor: &Actor, text: &str) -> Result<FaqImportReport> {
        require(actor, Action::ManageFaq, None)?;
        let entries = parse_faq_csv(text).map_err(|e| ValidationError::new("file", e))?;
        self.import_faq(actor, &entries)
    }

    /// Every FAQ entry as CSV (header `question,answer,alternatives`, alternatives joined by
    /// `|`), in id order: the format [`Service::import_faq_csv`] reads.
    pub fn faq_export_csv(&self, actor: &Actor) -> Result<String> {
        require(actor, Action::ManageFaq, None)?;
        let mut entries = self.read()?.faq_all()?;
        entries.sort_by_key(|e| e.id);
        let csv_error = |e: csv::Error| ServiceError::Conflict(format!("CSV export: {e}"));
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(["question", "answer", "alternatives"])
            .map_err(csv_error)?;
        for e in &entries {
            w.write_record([
                e.question.as_str(),
                e.answer.as_str(),
                e.alternatives.join("|").as_str(),
            ])
            .map_err(csv_error)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ServiceError::Conflict(format!("CSV export: {e}")))?;
        String::from_utf8(bytes).map_err(|e| ServiceError::Conflict(format!("CSV export: {e}")))
    }
}

#[cfg(test)]
mod panel_tests {
    use super::*;
    use crate::search::Answer;
    use crate::service::testing::service;

    fn operator() -> Actor {
        Actor::Staff {
            login: "olga".into(),
            role: Role::Operator,
        }
    }

    fn audit_count(svc: &Service) -> u64 {
        svc.read().unwrap().audit_count().unwrap()
    }

    #[test]
    fn try_follows_edits_and_enable_state() {
        let t = service();
        let svc = &t.svc;
        svc.attach_faq_index_in_memory().unwrap();
        let op = operator();
        let e = svc
            .upsert_faq(
                &op,
                None,
                "How do I connect to the VPN?",
                &["vpn does not work".to_string()],
                "Open the VPN client and sign in.",
                true,
            )
            .unwrap();
        svc.upsert_faq(
            &op,
            None,
            "How do I change my password?",
            &[],
            "Press Ctrl+Alt+Del.",
            true,
        )
        .unwrap();
        let (answer, hits) = svc.faq_try(&op, "vpn does not work").unwrap();
        match &answer {
            Answer::Confident(h) => assert_eq!(h.id, e.id),
            other => panic!("expected a confident answer, got {other:?}"),
        }
        assert_eq!(hits[0].id, e.id);
        assert!(hits[0].coverage > 0.0);

        // Edit: the try box follows at once.
        svc.upsert_faq(
            &op,
            Some(e.id),
            "How do I reach the printer?",
            &["printer offline".to_string()],
            "Check the cable.",
            true,
        )
        .unwrap();
        let (_, hits) = svc.faq_try(&op, "printer offline").unwrap();
        assert_eq!(hits.first().map(|h| h.id), Some(e.id));

        // Disabled: never answered; trying counts nothing.
        let before = audit_count(svc);
        let d = svc.set_faq_enabled(&op, e.id, false).unwrap();
        assert!(!d.enabled);
        assert_eq!(audit_count(svc), before + 1);
        let (answer, hits) = svc.faq_try(&op, "printer offline").unwrap();
        assert!(hits.iter().all(|h| h.id != e.id), "{hits:?}");
        assert!(!matches!(answer, Answer::Confident(ref h) if h.id == e.id));
        // Same state again: nothing written.
        svc.set_faq_enabled(&op, e.id, false).unwrap();
        assert_eq!(audit_count(svc), before + 1);
        svc.set_faq_enabled(&op, e.id, true).unwrap();
        let (_, hits) = svc.faq_try(&op, "printer offline").unwrap();
        assert_eq!(hits.first().map(|h| h.id), Some(e.id));
        let stored = svc.read().unwrap().faq_entry(e.id).unwrap().unwrap();
        assert_eq!(stored.hits, 0);
    }

    #[test]
    fn try_and_toggle_refuse_bad_input() {
        let t = service();
        let svc = &t.svc;
        let op = operator();
        // No index: no match, no error.
        assert_eq!(svc.faq_try(&op, "vpn").unwrap(), (Answer::NoMatch, vec![]));
        assert_eq!(svc.faq_try(&op, "  ").unwrap_err().kind(), "invalid");
        let long = "a".repeat(MAX_TRY_QUESTION + 1);
        assert_eq!(svc.faq_try(&op, &long).unwrap_err().kind(), "invalid");
        let user = Actor::Requester { tg_id: 1 };
        assert_eq!(svc.faq_try(&user, "vpn").unwrap_err().kind(), "forbidden");
        assert_eq!(
            svc.set_faq_enabled(&op, 99, false).unwrap_err().kind(),
            "not_found"
        );
        assert_eq!(
            svc.set_faq_enabled(&user, 1, false).unwrap_err().kind(),
            "forbidden"
        );
        assert_eq!(audit_count(svc), 0);
    }

    #[test]
    fn parses_csv_and_names_the_bad_line() {
        let ok = parse_faq_csv(
            "\u{feff}question,answer,alternatives\n\"Как, где VPN?\",\"Откройте\nклиент\",vpn|впн | \n\n  Пароль?  ,Ctrl+Alt+Del,\n",
        )
        .unwrap();
        assert_eq!(
            ok,
            vec![
                (
                    "Как, где VPN?".to_string(),
                    "Откройте\nклиент".to_string(),
                    vec!["vpn".to_string(), "впн".to_string()]
                ),
                (
                    "  Пароль?  ".to_string(),
                    "Ctrl+Alt+Del".to_string(),
                    vec![]
                ),
            ]
        );
        let semi = parse_faq_csv("answer;question\nA1;Q1\n").unwrap();
        assert_eq!(semi, vec![("Q1".into(), "A1".into(), vec![])]);
        for (text, needle) in [
            ("q,a\nx,y\n", "line 1"),
            ("question,answer\nGood one,yes\nBad,\n", "line 3"),
            (
                "question,answer\nGood one,yes\nx,answer\n",
                "line 3: question",
            ),
            ("question,answer\n", "no FAQ entries"),
            (
                &format!("question,answer\nOk?,{}\n", "a".repeat(5000)),
                "line 2: answer",
            ),
        ] {
            let e = parse_faq_csv(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn csv_export_and_import_round_trip() {
        let t = service();
        let svc = &t.svc;
        let op = operator();
        svc.upsert_faq(
            &op,
            None,
            "Как подключить VPN, если \"не работает\"?",
            &["впн".to_string(), "vpn, remote".to_string()],
            "Строка 1\nСтрока 2; ещё",
            true,
        )
        .unwrap();
        svc.upsert_faq(&op, None, "Printer?", &[], "Cable.", false)
            .unwrap();
        let csv = svc.faq_export_csv(&op).unwrap();
        assert!(csv.starts_with("question,answer,alternatives\r\n"), "{csv}");
        let before = svc.read().unwrap().faq_all().unwrap();
        let r = svc.import_faq_csv(&op, &csv).unwrap();
        assert_eq!((r.added, r.updated, r.unchanged), (0, 0, 2));
        assert_eq!(svc.read().unwrap().faq_all().unwrap(), before);

        // Into an empty store: the same entries come back.
        let t2 = service();
        let r = t2.svc.import_faq_csv(&op, &csv).unwrap();
        assert_eq!(r.added, 2);
        let again = t2.svc.read().unwrap().faq_all().unwrap();
        let key = |v: &[FaqEntry]| {
            v.iter()
                .map(|e| (e.question.clone(), e.answer.clone(), e.alternatives.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&again), key(&before));
    }

    #[test]
    fn a_bad_csv_changes_nothing() {
        let t = service();
        let svc = &t.svc;
        let op = operator();
        svc.upsert_faq(&op, None, "Printer?", &[], "Cable.", true)
            .unwrap();
        let before = (svc.read().unwrap().faq_all().unwrap(), audit_count(svc));
        let e = svc
            .import_faq_csv(&op, "question,answer\nVPN?,Open it\nPrinter?,\n")
            .unwrap_err();
        assert_eq!(e.kind(), "invalid");
        assert!(e.to_string().contains("line 3"), "{e}");
        assert_eq!(
            (svc.read().unwrap().faq_all().unwrap(), audit_count(svc)),
            before
        );
        let user = Actor::Requester { tg_id: 1 };
        assert_eq!(
            svc.import_faq_csv(&user, "question,answer\nA?,B\n")
                .unwrap_err()
                .kind(),
            "forbidden"
        );
        assert_eq!(svc.faq_export_csv(&user).unwrap_err().kind(), "forbidden");
    }
}
