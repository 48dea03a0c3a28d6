//! A small browser for end-to-end tests of pages: it keeps the cookies nodes set, sends them
//! back, does not follow redirects (so tests see them), and reads a form's CSRF field.

use std::collections::HashMap;

/// A browser's cookie jar, small: what the nodes set, sent back on every request.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep(&mut self, res: &reqwest::Response) {
        for value in res.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, url: &str) -> (u16, String) {
        let res = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&res);
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (u16, Option<String>) {
        let res = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&res);
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (res.status().as_u16(), location)
    }
}

pub fn csrf_field(html: &str) -> String {
    let start = html.find("name=\"_csrf\" value=\"").expect("a _csrf field") + 20;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}
