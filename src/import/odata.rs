//! 1C's standard OData interface (`<publication>/odata/standard.odata/…`, JSON): the answers
//! of a balance virtual table (`AccumulationRegister_ТоварыНаСкладах/Balance`) and of the
//! goods' catalogue (`Catalog_Номенклатура`) turned into the same [`Balance`] rows the file
//! formats give. Pure: the HTTP requests are `crate::onec`'s.
//!
//! An answer is `{"odata.metadata": …, "value": [record, …]}`, possibly with
//! `odata.nextLink` / `@odata.nextLink` naming the next page. A balance record names the good
//! by its reference (`Номенклатура_Key`, a GUID) and carries the resource with the suffix
//! `Balance` (`ВНаличииBalance`); one good may have many records (per warehouse,
//! characteristic, batch): they are added up. The catalogue gives each good's article
//! (`Артикул`, the code matched to our SKUs) and name; when it is read, its goods without a
//! balance record get a balance of 0, because 1C's balance table leaves out zero balances.
//!
//! Records are numbered from 1 across pages; every error names the record and the field.

use std::cell::Cell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Balance, ImportError, MAX_QUANTITY, parse_quantity};

/// [`super::Parsed::files`] entry of the balance records (a name ending in `#` is followed by
/// the record's number, see [`Balance::source`]).
pub const BALANCE_SOURCE: &str = "1C OData record #";
/// The same for the catalogue's goods given a balance of 0.
pub const CATALOG_SOURCE: &str = "1C OData catalogue record #";

/// One record of the balance table: the good's reference and its quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRecord {
    pub key: Box<str>,
    pub quantity: i64,
    /// Its number, from 1 across pages.
    pub index: u32,
}

/// One good of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Good {
    pub key: Box<str>,
    pub article: Box<str>,
    pub name: Box<str>,
}

/// One page of an answer: its records and the link to the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub records: Vec<T>,
    pub next: Option<String>,
}

/// Field names of the balance records.
#[derive(Debug, Clone)]
pub struct BalanceFields<'a> {
    pub item: &'a str,
    pub quantity: &'a str,
}

/// Field names of the catalogue records.
#[derive(Debug, Clone)]
pub struct CatalogFields<'a> {
    /// The good's reference, `Ref_Key` in every 1C catalogue.
    pub key: &'a str,
    pub article: &'a str,
    /// May be empty: no names.
    pub name: &'a str,
}

/// Reads one page of the balance table. `entity` names it in errors; `first` is the number
/// of its first record.
pub fn balances_page(
    entity: &str,
    body: &[u8],
    fields: &BalanceFields<'_>,
    first: u32,
) -> Result<Page<BalanceRecord>, ImportError> {
    let (values, next) = envelope(entity, body, first)?;
    let mut records = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let index = first + i as u32;
        let at = |field: &str, msg: String| field_error(entity, index, field, msg);
        let obj = object(entity, index, v)?;
        let key = text_field(obj, fields.item).map_err(|m| at(fields.item, m))?;
        if key.trim().is_empty() {
            return Err(at(fields.item, "is empty".into()));
        }
        let quantity = match obj.get(fields.quantity) {
            None => return Err(at(fields.quantity, missing(obj))),
            Some(Value::Number(n)) => parse_quantity(&n.to_string()),
            Some(Value::String(s)) => parse_quantity(s),
            Some(other) => Err(format!("{other} is not a number")),
        }
        .map_err(|m| at(fields.quantity, m))?;
        records.push(BalanceRecord {
            key: key.trim().into(),
            quantity,
            index,
        });
    }
    Ok(Page { records, next })
}

/// What is wrong with `field` of record `index`.
fn field_error(entity: &str, index: u32, field: &str, msg: String) -> ImportError {
    ImportError::new(
        &source(entity),
        None,
        format!("record {index}: {field}: {msg}"),
    )
}

/// Reads one page of the goods' catalogue (see [`balances_page`]). A good without an article
/// has an empty one; a missing name field reads as an empty name.
pub fn catalog_page(
    entity: &str,
    body: &[u8],
    fields: &CatalogFields<'_>,
    first: u32,
) -> Result<Page<Good>, ImportError> {
    let (values, next) = envelope(entity, body, first)?;
    let mut records = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let index = first + i as u32;
        let at = |field: &str, msg: String| field_error(entity, index, field, msg);
        let obj = object(entity, index, v)?;
        let key = text_field(obj, fields.key).map_err(|m| at(fields.key, m))?;
        let article = match obj.get(fields.article) {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(at(fields.article, format!("{other} is not a text"))),
        };
        let name = match obj.get(fields.name) {
            Some(Value::String(s)) if !fields.name.is_empty() => s.as_str(),
            _ => "",
        };
        records.push(Good {
            key: key.trim().into(),
            article: article.trim().into(),
            name: name.trim().into(),
        });
    }
    Ok(Page { records, next })
}

/// Adds up the records of each good and gives each its code: the catalogue's article when it
/// has one (the reference then goes in [`Balance::ext_id`], so the mapping table may key on
/// either), else the reference. With a catalogue, its goods without a record get a balance of 0
/// (file 1 of [`sources`]), unless their code is already among the balances.
pub fn combine(
    entity: &str,
    records: Vec<BalanceRecord>,
    catalog: Option<&[Good]>,
) -> Result<Vec<Balance>, ImportError> {
    let goods: HashMap<&str, (usize, &Good)> = catalog
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, g)| (&*g.key, (i, g)))
        .collect();
    let mut out: Vec<Balance> = Vec::new();
    let mut by_key: HashMap<Box<str>, usize> = HashMap::new();
    for r in records {
        match by_key.entry(r.key.clone()) {
            Entry::Occupied(e) => {
                let b = &mut out[*e.get()];
                b.quantity += r.quantity;
                if b.quantity > MAX_QUANTITY {
                    return Err(ImportError::new(
                        &source(entity),
                        None,
                        format!(
                            "record {}: the records of good {} add up to more than {MAX_QUANTITY}",
                            r.index, r.key
                        ),
                    ));
                }
            }
            Entry::Vacant(e) => {
                let good = goods.get(&*r.key).map(|(_, g)| *g);
                let (code, ext_id) = match good {
                    Some(g) if !g.article.is_empty() => (g.article.clone(), Some(r.key.clone())),
                    _ => (r.key.clone(), None),
                };
                e.insert(out.len());
                out.push(Balance {
                    code,
                    ext_id,
                    name: good.map(|g| g.name.clone()).unwrap_or_default(),
                    quantity: r.quantity,
                    file: 0,
                    line: r.index,
                });
            }
        }
    }
    if let Some(catalog) = catalog {
        let mut codes: std::collections::HashSet<Box<str>> =
            out.iter().map(|b| b.code.clone()).collect();
        for (i, g) in catalog.iter().enumerate() {
            if by_key.contains_key(&g.key) || g.key.is_empty() {
                continue;
            }
            let code = if g.article.is_empty() {
                g.key.clone()
            } else {
                g.article.clone()
            };
            if !codes.insert(code.clone()) {
                continue;
            }
            out.push(Balance {
                ext_id: (code != g.key).then(|| g.key.clone()),
                code,
                name: g.name.clone(),
                quantity: 0,
                file: 1,
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            });
        }
    }
    Ok(out)
}

/// The file names the balances of [`combine`] refer to.
pub fn sources() -> Vec<String> {
    vec![BALANCE_SOURCE.to_string(), CATALOG_SOURCE.to_string()]
}

/// How errors name an entity.
fn source(entity: &str) -> String {
    format!("1C OData {entity}")
}

fn object<'v>(
    entity: &str,
    index: u32,
    v: &'v Value,
) -> Result<&'v serde_json::Map<String, Value>, ImportError> {
    v.as_object().ok_or_else(|| {
        ImportError::new(
            &source(entity),
            None,
            format!("record {index}: is not a JSON object"),
        )
    })
}

fn text_field<'v>(obj: &'v serde_json::Map<String, Value>, field: &str) -> Result<&'v str, String> {
    match obj.get(field) {
        None => Err(missing(obj)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{other} is not a text")),
    }
}

/// "is missing (the record has: …)": the names help to correct the config.
fn missing(obj: &serde_json::Map<String, Value>) -> String {
    let mut names: Vec<&str> = obj.keys().map(String::as_str).take(12).collect();
    if obj.len() > names.len() {
        names.push("…");
    }
    format!("is missing (the record has: {})", names.join(", "))
}

/// The records of an answer and its next link. A syntax error inside the `value` list names
/// the record it is in.
fn envelope(
    entity: &str,
    body: &[u8],
    first: u32,
) -> Result<(Vec<Value>, Option<String>), ImportError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let state = State {
        inside: Cell::new(false),
        done: Cell::new(0),
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = EnvelopeSeed(&state)
        .deserialize(&mut de)
        .and_then(|e| de.end().map(|()| e));
    let env = parsed.map_err(|e| {
        let msg = if state.inside.get() {
            format!(
                "record {}: malformed JSON: {e}",
                u64::from(first) + state.done.get() as u64
            )
        } else {
            format!("malformed JSON: {e}")
        };
        ImportError::new(&source(entity), None, msg)
    })?;
    if let Some(err) = env.error {
        return Err(ImportError::new(
            &source(entity),
            None,
            format!("1C answered with an error: {}", error_message(&err)),
        ));
    }
    let Some(values) = env.value else {
        return Err(ImportError::new(
            &source(entity),
            None,
            "not an OData answer: it has no \"value\" list (is $format=json honoured?)",
        ));
    };
    if u64::from(first) + values.len() as u64 > u64::from(u32::MAX) {
        return Err(ImportError::new(&source(entity), None, "too many records"));
    }
    Ok((values, env.next))
}

/// The text of an OData error object (`{"code":…, "message":{"value":…}}` or a plain
/// message).
pub fn error_message(err: &Value) -> String {
    let m = &err["message"];
    let text = m["value"]
        .as_str()
        .or_else(|| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| err.to_string());
    text.chars().take(300).collect()
}

struct State {
    inside: Cell<bool>,
    done: Cell<usize>,
}

#[derive(Default)]
struct Envelope {
    value: Option<Vec<Value>>,
    next: Option<String>,
    error: Option<Value>,
}

struct EnvelopeSeed<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with a \"value\" list")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut env = Envelope::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "value" => env.value = Some(map.next_value_seed(RecordsSeed(self.0))?),
                "odata.nextLink" | "@odata.nextLink" => env.next = map.next_value()?,
                "odata.error" | "error" => env.error = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

struct RecordsSeed<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        self.0.inside.set(true);
        self.0.done.set(0);
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            out.push(v);
            self.0.done.set(out.len());
        }
        self.0.inside.set(false);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "AccumulationRegister_ТоварыНаСкладах/Balance";
    const F: BalanceFields<'static> = BalanceFields {
        item: "Номенклатура_Key",
        quantity: "ВНаличииBalance",
    };
    const C: CatalogFields<'static> = CatalogFields {
        key: "Ref_Key",
        article: "Артикул",
        name: "Description",
    };
    const G1: &str = "6f8a1c2e-11d2-11ee-80c5-005056b3f2a1";
    const G2: &str = "6f8a1c2f-11d2-11ee-80c5-005056b3f2a1";
    const G3: &str = "6f8a1c30-11d2-11ee-80c5-005056b3f2a1";

    fn bal(body: &str, first: u32) -> Result<Page<BalanceRecord>, String> {
        balances_page(E, body.as_bytes(), &F, first).map_err(|e| e.to_string())
    }

    #[test]
    fn a_balance_page_as_1c_writes_it() {
        let body = format!(
            "\u{feff}{{\"odata.metadata\":\"http://h/ut/odata/standard.odata/$metadata#AccumulationRegister_ТоварыНаСкладах_Balance\",\
             \"value\":[{{\"Номенклатура_Key\":\"{G1}\",\"Склад_Key\":\"00000000-0000-0000-0000-000000000001\",\"ВНаличииBalance\":7}},\
             {{\"Номенклатура_Key\":\"{G2}\",\"ВНаличииBalance\":\"12.000\",\"ВРезервеBalance\":1}}],\
             \"odata.nextLink\":\"AccumulationRegister_ТоварыНаСкладах/Balance?$skiptoken=2\"}}"
        );
        let p = bal(&body, 5).unwrap();
        assert_eq!(
            p.records,
            vec![
                BalanceRecord {
                    key: G1.into(),
                    quantity: 7,
                    index: 5
                },
                BalanceRecord {
                    key: G2.into(),
                    quantity: 12,
                    index: 6
                },
            ]
        );
        assert_eq!(
            p.next.as_deref(),
            Some("AccumulationRegister_ТоварыНаСкладах/Balance?$skiptoken=2")
        );
        let p = bal(r#"{"@odata.nextLink":"https://h/x?p=2","value":[]}"#, 1).unwrap();
        assert_eq!(
            (p.records.len(), p.next.as_deref()),
            (0, Some("https://h/x?p=2"))
        );
        assert_eq!(
            bal(
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":5.0}]}"#,
                1
            )
            .unwrap()
            .records[0]
                .quantity,
            5
        );
    }

    #[test]
    fn bad_records_are_named_by_number_and_field() {
        for (body, want) in [
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":1},{"Номенклатура_Key":"b","ВНаличииBalance":-2}]}"#,
                "1C OData AccumulationRegister_ТоварыНаСкладах/Balance: record 2: ВНаличииBalance: '-2' is negative",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":"много"}]}"#,
                "record 1: ВНаличииBalance: 'много' is not a number",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":2.5}]}"#,
                "record 1: ВНаличииBalance: '2.5' is not a whole number",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","КоличествоBalance":2}]}"#,
                "record 1: ВНаличииBalance: is missing (the record has: КоличествоBalance, Номенклатура_Key)",
            ),
            (
                r#"{"value":[{"ВНаличииBalance":2}]}"#,
                "record 1: Номенклатура_Key: is missing",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":null}]}"#,
                "record 1: ВНаличииBalance: null is not a number",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":1}, 5]}"#,
                "record 2: is not a JSON object",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":1},{"Номенклатура_Key":"b","ВНаличииBalance":1"#,
                "record 2: malformed JSON: EOF while parsing",
            ),
            (
                r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":1},{"Номенклатура_Key" "b"}]}"#,
                "record 2: malformed JSON: expected `:`",
            ),
            (
                r#"{"value":[]} trailing"#,
                "malformed JSON: trailing characters",
            ),
            (
                "<html>Unauthorized</html>",
                "malformed JSON: expected value at line 1 column 1",
            ),
            (r#"{"items":[]}"#, "has no \"value\" list"),
            (
                r#"{"odata.error":{"code":"-1","message":{"lang":"ru","value":"Не найден ресурс"}}}"#,
                "1C answered with an error: Не найден ресурс",
            ),
        ] {
            let e = bal(body, 1).unwrap_err();
            assert!(e.contains(want), "{body}: {e}");
        }
        // Numbering continues across pages.
        let e = bal(
            r#"{"value":[{"Номенклатура_Key":"a","ВНаличииBalance":-1}]}"#,
            1001,
        )
        .unwrap_err();
        assert!(e.contains("record 1001:"), "{e}");
    }

    #[test]
    fn combining_adds_up_goods_and_uses_the_catalogues_articles() {
        let recs = bal(
            &format!(
                r#"{{"value":[{{"Номенклатура_Key":"{G1}","ВНаличииBalance":3}},{{"Номенклатура_Key":"{G2}","ВНаличииBalance":1}},{{"Номенклатура_Key":"{G1}","ВНаличииBalance":4}}]}}"#
            ),
            1,
        )
        .unwrap()
        .records;
        let cat = catalog_page(
            "Catalog_Номенклатура",
            format!(
                r#"{{"value":[{{"Ref_Key":"{G1}","Артикул":" CE285A ","Description":"Картридж HP 85A"}},{{"Ref_Key":"{G2}","Артикул":"","Description":"Бумага"}},{{"Ref_Key":"{G3}","Артикул":"Q2612A","Description":"Картридж HP 12A"}},{{"Ref_Key":"00000000-0000-0000-0000-00000000000f","Артикул":"CE285A","Description":"дубль"}}]}}"#
            )
            .as_bytes(),
            &C,
            1,
        )
        .unwrap()
        .records;
        let rows = combine(E, recs.clone(), Some(&cat)).unwrap();
        type Row<'a> = (&'a str, Option<&'a str>, &'a str, i64, u16, u32);
        let got: Vec<Row> = rows
            .iter()
            .map(|b| {
                (
                    &*b.code,
                    b.ext_id.as_deref(),
                    &*b.name,
                    b.quantity,
                    b.file,
                    b.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("CE285A", Some(G1), "Картридж HP 85A", 7, 0, 1),
                (G2, None, "Бумага", 1, 0, 2),
                // In the catalogue without a balance record: 0.
                ("Q2612A", Some(G3), "Картридж HP 12A", 0, 1, 3),
                // The fourth good's article is already listed: left out.
            ]
        );
        assert_eq!(rows[2].source(&sources()), "1C OData catalogue record #3");
        assert_eq!(rows[0].source(&sources()), "1C OData record #1");
        // Without the catalogue, the codes are the references.
        let bare = combine(E, recs, None).unwrap();
        assert_eq!(
            bare.iter().map(|b| &*b.code).collect::<Vec<_>>(),
            vec![G1, G2]
        );

        let big = vec![
            BalanceRecord {
                key: "a".into(),
                quantity: MAX_QUANTITY,
                index: 1,
            },
            BalanceRecord {
                key: "a".into(),
                quantity: 1,
                index: 2,
            },
        ];
        let e = combine(E, big, None).unwrap_err().to_string();
        assert!(
            e.contains("record 2: the records of good a add up to more than"),
            "{e}"
        );
    }

    #[test]
    fn catalogue_records_are_checked() {
        let e = catalog_page(
            "Catalog_Номенклатура",
            r#"{"value":[{"Ref_Key":"x","Артикул":5}]}"#.as_bytes(),
            &C,
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Catalog_Номенклатура: record 1: Артикул: 5 is not a text"),
            "{e}"
        );
        let e = catalog_page(
            "Catalog_Номенклатура",
            r#"{"value":[{"Артикул":"A"}]}"#.as_bytes(),
            &C,
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("record 1: Ref_Key: is missing"), "{e}");
    }
}
