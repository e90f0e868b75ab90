//! A panel user for HTTP-level tests: a reqwest client that keeps cookies by hand (so a test
//! sees exactly what the server set and cleared) and never follows redirects (so a test sees
//! each `303` and its `Location`).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::time::Duration;

use super::Server;

/// An HTTP answer with what the tests look at.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (lossy for binary answers: use [`Resp::bytes`] for those).
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    fn of(r: reqwest::blocking::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().expect("body").to_vec();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    pub fn text(&self) -> String {
        self.body.clone()
    }

    /// A header's value, or "" when it is missing.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    pub fn location(&self) -> String {
        self.header("location")
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The client every HTTP test uses: no redirects, no proxy, a time limit.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("http client")
}

/// Sends a request without cookies.
#[track_caller]
pub fn send(req: reqwest::blocking::RequestBuilder) -> Resp {
    Resp::of(req.send().expect("request"))
}

/// A browser: a cookie jar and a client that does not follow redirects.
pub struct Browser {
    pub http: reqwest::blocking::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        Browser {
            http: client(),
            base: server.url(""),
            cookies: BTreeMap::new(),
        }
    }

    /// Signs in (GET /login for the CSRF cookie and field, POST /login) and asserts it worked.
    #[track_caller]
    pub fn login(server: &Server, login: &str, password: &str) -> Browser {
        let mut b = Browser::new(server);
        let r = b.try_login(login, password);
        assert_eq!(r.status, 303, "login as {login}: {}", r.body);
        assert!(b.cookies.contains_key("hd_session"), "no session cookie");
        b
    }

    /// GET /login, then POST /login with its CSRF field; the answer, whatever it is.
    #[track_caller]
    pub fn try_login(&mut self, login: &str, password: &str) -> Resp {
        let page = self.get("/login");
        assert_eq!(page.status, 200, "GET /login: {}", page.body);
        let csrf = hidden_csrf(&page.body);
        self.post(
            "/login",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
    }

    /// Sends with the jar's cookies; takes in what the answer sets or clears.
    #[track_caller]
    pub fn send(&mut self, req: reqwest::blocking::RequestBuilder) -> Resp {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie)
        };
        let r = req.send().expect("request");
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            let pair = v.split(';').next().unwrap_or("");
            let (name, value) = pair.split_once('=').expect("name=value");
            let name = name.trim();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Resp::of(r)
    }

    #[track_caller]
    pub fn get(&mut self, path: &str) -> Resp {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req)
    }

    #[track_caller]
    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req)
    }

    /// A multipart POST: text fields and file parts (field name, file name, bytes).
    #[track_caller]
    pub fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Resp {
        let (content_type, body) = multipart(fields, files);
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(req)
    }

    /// The CSRF token of the page at `path` (the sign-out form of every signed-in page
    /// carries the session's token).
    #[track_caller]
    pub fn csrf_of(&mut self, path: &str) -> String {
        let page = self.get(path);
        assert_eq!(page.status, 200, "GET {path}: {}", page.body);
        hidden_csrf(&page.body)
    }

    /// The session's CSRF token, read from the dashboard.
    #[track_caller]
    pub fn csrf(&mut self) -> String {
        self.csrf_of("/")
    }

    /// POST with the CSRF token of the page at `from` added.
    #[track_caller]
    pub fn submit(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf_of(from);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all)
    }
}

/// A `multipart/form-data` body: (content type with its boundary, bytes).
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----helpdesk-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (field, name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The value of the first hidden `csrf` input of a page.
#[track_caller]
pub fn hidden_csrf(html: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let at = html
        .find(key)
        .unwrap_or_else(|| panic!("no csrf field in:\n{html}"))
        + key.len();
    html[at..].split('"').next().unwrap().to_string()
}
