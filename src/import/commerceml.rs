//! 1C CommerceML 2.x/3.x (`КоммерческаяИнформация`): the catalogue (`import.xml`:
//! `Каталог/Товары/Товар` with `Ид`, `Артикул`, `Наименование`) and the offers package
//! (`offers.xml`: `ПакетПредложений/Предложения/Предложение`).
//!
//! Read as a stream of quick-xml events over a buffered reader: memory grows with the number
//! of goods and offers kept (a few strings each), never with the file. A file declaring
//! `encoding="windows-1251"` is transcoded to UTF-8 on the fly (encoding_rs).
//!
//! An offer's balance is, in this order: its own `Количество`; the sum of
//! `Остатки/Остаток/…/Количество` (schema 2.10 and 3.x, one per warehouse); the sum of the
//! warehouse attributes `<Склад … КоличествоНаСкладе="5"/>`. An offer with none of them (a
//! price-only offer) is left out and counted.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::rc::Rc;

use quick_xml::events::Event;

use super::{Balance, ImportError, check_duplicates, parse_quantity};

const ROOT: &str = "КоммерческаяИнформация";

/// A good of the catalogue being read.
#[derive(Default)]
struct Good {
    id: String,
    article: String,
    name: String,
}

/// The offer being read.
#[derive(Default)]
struct Offer {
    id: String,
    article: String,
    name: String,
    direct: Option<i64>,
    rests: Option<i64>,
    stores: Option<i64>,
    line: u64,
}

/// Which part of the files a reading keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// First pass over every file: the offers (the catalogue is only noticed).
    Offers,
    /// Second pass over the files holding a catalogue: articles and names of the goods the
    /// offers refer to, written straight into their balances (no table of all goods).
    Catalogue,
}

/// What the CommerceML files of one import gave, combined at the end.
#[derive(Default)]
pub(super) struct Collector {
    /// Offers as balances: `ext_id` holds the offer's whole `Ид` and `code` its own article
    /// (maybe empty) until [`Collector::finish`] fills them in.
    offers: Vec<Balance>,
    /// Indexes of `offers` sorted by the good's `Ид` (the part before `#`), for the
    /// catalogue pass.
    by_good: Vec<u32>,
    partial: bool,
    without_quantity: u64,
    files: u32,
    catalogues: u32,
}

fn good_id(b: &Balance) -> &str {
    let id = b.ext_id.as_deref().unwrap_or("");
    id.split('#').next().unwrap_or(id)
}

impl Collector {
    pub(super) fn seen_xml(&self) -> bool {
        self.files > 0
    }

    /// After the offers pass: refuses duplicate offers and prepares the catalogue pass.
    pub(super) fn prepare(&mut self, files: &[String]) -> Result<(), ImportError> {
        check_duplicates(&self.offers, files, "Предложение Ид", |b| {
            b.ext_id.as_deref().unwrap_or("")
        })?;
        let offers = &self.offers;
        self.by_good = (0..offers.len() as u32)
            .filter(|&i| {
                let b = &offers[i as usize];
                b.code.is_empty() || b.name.is_empty()
            })
            .collect();
        self.by_good.sort_unstable_by(|&a, &b| {
            good_id(&offers[a as usize]).cmp(good_id(&offers[b as usize]))
        });
        Ok(())
    }

    /// Fills in the article and name of the offers of a good from the catalogue.
    fn good(&mut self, g: Good) {
        let offers = &mut self.offers;
        let start = self
            .by_good
            .partition_point(|&i| good_id(&offers[i as usize]) < g.id.as_str());
        for &i in &self.by_good[start..] {
            let b = &mut offers[i as usize];
            if good_id(b) != g.id {
                break;
            }
            if b.code.is_empty() {
                b.code = g.article.as_str().into();
            }
            if b.name.is_empty() {
                b.name = g.name.as_str().into();
            }
        }
    }

    /// The balances of the offers: the code is the article, else the offer's `Ид`.
    pub(super) fn finish(mut self) -> Result<(Vec<Balance>, bool, u64), ImportError> {
        if self.offers.is_empty() && self.without_quantity == 0 {
            let msg = if self.catalogues == 0 {
                "no offers found (ПакетПредложений/Предложения/Предложение): give 1C's offers.xml"
            } else {
                "the catalogue (import.xml) has no balances: give offers.xml with it"
            };
            return Err(ImportError::new("CommerceML", None, msg));
        }
        for b in &mut self.offers {
            let id = b.ext_id.take().unwrap_or_default();
            if b.code.is_empty() {
                b.code = id;
            } else {
                b.ext_id = Some(match id.find('#') {
                    Some(at) => id[..at].into(),
                    None => id,
                });
            }
        }
        Ok((self.offers, self.partial, self.without_quantity))
    }
}

/// Counts the lines the XML parser has consumed and the raw bytes read, for messages and
/// progress.
struct Lines<R> {
    inner: R,
    line: u64,
    raw: Rc<Cell<u64>>,
    count_raw: bool,
}

impl<R: BufRead> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if amt > 0
            && let Ok(buf) = self.inner.fill_buf()
        {
            let n = amt.min(buf.len());
            self.line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        if self.count_raw {
            self.raw.set(self.raw.get() + amt as u64);
        }
        self.inner.consume(amt);
    }
}

/// Decodes a legacy encoding (Windows-1251) to UTF-8 as it is read.
struct Transcode<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    raw: Rc<Cell<u64>>,
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.len() < 8 {
            // The decoder needs room for a whole character; BufReader never asks for less.
            let mut tmp = [0u8; 8];
            let n = self.read(&mut tmp)?;
            let k = n.min(out.len());
            out[..k].copy_from_slice(&tmp[..k]);
            return Ok(k);
        }
        loop {
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.buf)?;
                self.raw.set(self.raw.get() + n as u64);
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            let (res, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.buf[self.start..self.end], out, self.eof);
            self.start += read;
            if written > 0 || (self.eof && res == encoding_rs::CoderResult::InputEmpty) {
                return Ok(written);
            }
        }
    }
}

/// The encoding the XML declaration names (UTF-8 when none).
fn declared_encoding(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    if !decl.trim_start().starts_with("<?xml") {
        return None;
    }
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = rest[1..].split(quote).next()?;
    encoding_rs::Encoding::for_label(value.trim().as_bytes())
}

/// Reads one CommerceML file into `c`, keeping what `pass` asks for; returns its description
/// (`CommerceML 2.05 (offers)`) and whether it holds a catalogue.
pub(super) fn read(
    file: &str,
    index: u16,
    mut input: Box<dyn BufRead + '_>,
    c: &mut Collector,
    pass: Pass,
    progress: &mut dyn FnMut(u64),
) -> Result<(String, bool), ImportError> {
    if pass == Pass::Offers {
        c.files += 1;
    }
    let head = input
        .fill_buf()
        .map_err(|e| ImportError::new(file, None, format!("cannot read: {e}")))?;
    let encoding = declared_encoding(head).unwrap_or(encoding_rs::UTF_8);
    let raw = Rc::new(Cell::new(0u64));
    let reader: Box<dyn BufRead + '_> = if encoding == encoding_rs::UTF_8 {
        input
    } else if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        return Err(ImportError::new(
            file,
            Some(1),
            "UTF-16 XML is not supported: export it from 1C in UTF-8 or Windows-1251",
        ));
    } else {
        Box::new(std::io::BufReader::with_capacity(
            64 * 1024,
            Transcode {
                inner: input,
                decoder: encoding.new_decoder_without_bom_handling(),
                buf: vec![0; 32 * 1024],
                start: 0,
                end: 0,
                eof: false,
                raw: raw.clone(),
            },
        ))
    };
    let lines = Lines {
        inner: reader,
        line: 1,
        raw: raw.clone(),
        count_raw: encoding == encoding_rs::UTF_8,
    };
    let mut xml = quick_xml::Reader::from_reader(lines);
    xml.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(4096);
    let mut stack: Vec<String> = Vec::with_capacity(16);
    let mut text = String::new();
    let mut version = String::new();
    let mut sections: Vec<&str> = Vec::new();
    let mut offer: Option<(usize, Offer)> = None;
    let mut good: Option<Good> = None;
    let mut reported = 0u64;
    let err = |line: u64, msg: String| ImportError::new(file, Some(line), msg);
    loop {
        let ev = xml.read_event_into(&mut buf);
        let line = xml.get_ref().line;
        let ev = match ev {
            Ok(ev) => ev,
            Err(quick_xml::Error::Encoding(e)) => {
                return Err(err(
                    line,
                    format!(
                        "the text is not valid {} ({e}); 1C files in Windows-1251 must say so in \
                         <?xml … encoding=\"windows-1251\"?>",
                        encoding.name()
                    ),
                ));
            }
            Err(e) => return Err(err(line, format!("malformed XML: {e}"))),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name().as_ref().to_string();
                let attr = |key: &str| -> Result<Option<String>, ImportError> {
                    for a in e.attributes() {
                        let a = a.map_err(|x| err(line, format!("malformed XML: {x}")))?;
                        if a.key.local_name().as_ref() == key {
                            let v = quick_xml::escape::unescape(&a.value).map_err(|x| {
                                err(line, format!("malformed XML in attribute {key}: {x}"))
                            })?;
                            return Ok(Some(v.into_owned()));
                        }
                    }
                    Ok(None)
                };
                if stack.is_empty() {
                    if name != ROOT {
                        return Err(err(
                            line,
                            format!(
                                "not a 1C CommerceML file: the root element is <{name}>, \
                                 expected <{ROOT}>"
                            ),
                        ));
                    }
                    version = attr("ВерсияСхемы")?.unwrap_or_default();
                }
                let parent = stack.last().map(String::as_str).unwrap_or("");
                match (name.as_str(), parent) {
                    ("ПакетПредложений", _) => {
                        sections.push("offers");
                        if attr("СодержитТолькоИзменения")?.as_deref() == Some("true")
                        {
                            c.partial = true;
                        }
                    }
                    ("Каталог", _) => sections.push("catalogue"),
                    ("Предложение", "Предложения") if !empty && pass == Pass::Offers => {
                        offer = Some((
                            stack.len() + 1,
                            Offer {
                                line,
                                ..Offer::default()
                            },
                        ))
                    }
                    ("Товар", "Товары") if !empty && pass == Pass::Catalogue => {
                        good = Some(Good::default())
                    }
                    ("Склад", "Предложение") => {
                        if let (Some((_, o)), Some(q)) =
                            (offer.as_mut(), attr("КоличествоНаСкладе")?)
                        {
                            let q = parse_quantity(&q).map_err(|m| {
                                err(line, format!("Склад/@КоличествоНаСкладе: {m}"))
                            })?;
                            o.stores = Some(o.stores.unwrap_or(0) + q);
                        }
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                    text.clear();
                }
            }
            Event::Text(ref t) => text.push_str(t),
            Event::CData(ref t) => text.push_str(t),
            Event::GeneralRef(ref r) => {
                let ch = r
                    .resolve_char_ref()
                    .map_err(|e| err(line, format!("malformed XML: {e}")))?;
                match ch {
                    Some(ch) => text.push(ch),
                    None => match quick_xml::escape::resolve_predefined_entity(r) {
                        Some(s) => text.push_str(s),
                        None => {
                            return Err(err(
                                line,
                                format!("malformed XML: unknown entity &{};", &**r),
                            ));
                        }
                    },
                }
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let parent = stack.last().map(String::as_str).unwrap_or("");
                let value = text.trim();
                if let Some((depth, o)) = offer.as_mut() {
                    let in_rests =
                        stack.len() >= *depth && stack[*depth..].iter().any(|s| s == "Остатки");
                    match (name.as_str(), parent) {
                        ("Ид", "Предложение") => o.id = value.to_string(),
                        ("Артикул", "Предложение") => {
                            o.article = value.to_string()
                        }
                        ("Наименование", "Предложение") => {
                            o.name = value.to_string()
                        }
                        ("Количество", "Предложение") => {
                            o.direct = Some(
                                parse_quantity(value)
                                    .map_err(|m| err(line, format!("Количество: {m}")))?,
                            );
                        }
                        ("Количество", _) if in_rests => {
                            let q = parse_quantity(value)
                                .map_err(|m| err(line, format!("Остатки/…/Количество: {m}")))?;
                            o.rests = Some(o.rests.unwrap_or(0) + q);
                        }
                        ("Предложение", "Предложения") => {
                            let (_, o) = offer.take().expect("offer open");
                            if o.id.is_empty() {
                                return Err(err(o.line, "Предложение without Ид".into()));
                            }
                            match o.direct.or(o.rests).or(o.stores) {
                                None => c.without_quantity += 1,
                                Some(quantity) => c.offers.push(Balance {
                                    code: o.article.into(),
                                    ext_id: Some(o.id.into()),
                                    name: o.name.into(),
                                    quantity,
                                    file: index,
                                    line: u32::try_from(o.line).unwrap_or(u32::MAX),
                                }),
                            }
                        }
                        _ => {}
                    }
                } else if let Some(g) = good.as_mut() {
                    match (name.as_str(), parent) {
                        ("Ид", "Товар") => g.id = value.to_string(),
                        ("Артикул", "Товар") => g.article = value.to_string(),
                        ("Наименование", "Товар") => g.name = value.to_string(),
                        ("Товар", "Товары") => {
                            c.good(good.take().expect("good open"));
                        }
                        _ => {}
                    }
                } else if name == "СодержитТолькоИзменения"
                    && parent == "ПакетПредложений"
                    && value == "true"
                {
                    c.partial = true;
                }
                text.clear();
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(err(
                        line,
                        format!("the file ends inside <{open}>: it is cut short"),
                    ));
                }
                if version.is_empty() && sections.is_empty() && stack.is_empty() {
                    // An empty document (only a declaration) is no CommerceML either.
                    return Err(err(line, "no XML elements found".into()));
                }
                break;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
        buf.clear();
        let now = raw.get();
        if now - reported >= 1 << 20 {
            reported = now;
            progress(now);
        }
    }
    sections.dedup();
    let v = if version.is_empty() {
        String::new()
    } else {
        format!(" {version}")
    };
    let catalogue = sections.contains(&"catalogue");
    if catalogue && pass == Pass::Offers {
        c.catalogues += 1;
    }
    Ok((
        format!("CommerceML{v} ({})", sections.join(", ")),
        catalogue,
    ))
}
