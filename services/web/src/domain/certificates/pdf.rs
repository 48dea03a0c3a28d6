//! The certificate as a PDF (krilla): A4 landscape, the union's header, "GIẤY CHỨNG NHẬN",
//! the holder's full name, unit, award, contest, date, and the verification code with a QR
//! code of its check page drawn as vector squares. The text is DejaVu Sans (Debian's
//! `fonts-dejavu-core`, every Vietnamese letter), embedded as a subset with its ToUnicode map,
//! so a PDF reader or `pdftotext` gives back the same letters.

use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use chrono::Datelike;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use qrcode::{Color, QrCode};

use super::{Award, CertificateRow};

/// Where Debian's `fonts-dejavu-core` puts the fonts.
const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
const REGULAR: &str = "DejaVuSans.ttf";
const BOLD: &str = "DejaVuSans-Bold.ttf";

/// The union every certificate is issued in the name of.
pub const UNION: &str = "ĐOÀN TNCS HỒ CHÍ MINH";

const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
const MARGIN: f32 = 60.0;

struct Face {
    data: Vec<u8>,
    font: Font,
}

impl Face {
    fn load(name: &str) -> anyhow::Result<Self> {
        let path = format!("{FONT_DIR}/{name}");
        let data = std::fs::read(&path).with_context(|| {
            format!("certificates need the font {path}: install Debian's fonts-dejavu-core")
        })?;
        let font = Font::new(data.clone().into(), 0)
            .ok_or_else(|| anyhow!("{path} is not a font krilla can read"))?;
        Ok(Self { data, font })
    }

    /// The width of `text` at `size` points (advances of its characters, no kerning).
    fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(face) = ttf_parser::Face::parse(&self.data, 0) else {
            return 0.0;
        };
        let units: u32 = text
            .chars()
            .filter_map(|c| face.glyph_index(c))
            .filter_map(|g| face.glyph_hor_advance(g))
            .map(u32::from)
            .sum();
        units as f32 * size / f32::from(face.units_per_em())
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

fn fonts() -> anyhow::Result<&'static Fonts> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Ok(Fonts {
                regular: Face::load(REGULAR).map_err(|e| format!("{e:#}"))?,
                bold: Face::load(BOLD).map_err(|e| format!("{e:#}"))?,
            })
        })
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

/// "Ngày 7 tháng 12 năm 2026".
fn long_date(d: chrono::NaiveDate) -> String {
    format!("Ngày {} tháng {} năm {}", d.day(), d.month(), d.year())
}

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

const RED: (u8, u8, u8) = (0xb3, 0x1b, 0x1b);
const INK: (u8, u8, u8) = (0x1f, 0x29, 0x37);

/// One line of text centred on the page at baseline `y`, shrunk to fit the margins.
fn centred(s: &mut Surface, face: &Face, size: f32, y: f32, text: &str, colour: (u8, u8, u8)) {
    let room = WIDTH - 2.0 * MARGIN - 20.0;
    let mut size = size;
    while size > 8.0 && face.width(text, size) > room {
        size -= 1.0;
    }
    let x = (WIDTH - face.width(text, size)) / 2.0;
    s.set_fill(Some(fill(colour.0, colour.1, colour.2)));
    s.draw_text(
        Point::from_xy(x, y),
        face.font.clone(),
        size,
        text,
        false,
        TextDirection::Auto,
    );
}

fn left(s: &mut Surface, face: &Face, size: f32, x: f32, y: f32, text: &str) {
    s.set_fill(Some(fill(INK.0, INK.1, INK.2)));
    s.draw_text(
        Point::from_xy(x, y),
        face.font.clone(),
        size,
        text,
        false,
        TextDirection::Auto,
    );
}

/// The QR code of `url`, its top-left corner at (x, y), `side` points wide.
fn qr(s: &mut Surface, url: &str, x: f32, y: f32, side: f32) -> anyhow::Result<()> {
    let code = QrCode::new(url.as_bytes())
        .context("the check page's address is too long for a QR code")?;
    let n = code.width();
    let quiet = 2;
    let cell = side / (n + 2 * quiet) as f32;
    let colours = code.to_colors();
    let mut pb = PathBuilder::new();
    for (i, c) in colours.iter().enumerate() {
        if *c == Color::Dark {
            let (cx, cy) = (i % n + quiet, i / n + quiet);
            if let Some(r) = Rect::from_xywh(x + cx as f32 * cell, y + cy as f32 * cell, cell, cell)
            {
                pb.push_rect(r);
            }
        }
    }
    if let Some(path) = pb.finish() {
        s.set_fill(Some(fill(0, 0, 0)));
        s.draw_path(&path);
    }
    Ok(())
}

/// The PDF of `c`, whose check page is `verify_url`.
pub fn render(c: &CertificateRow, verify_url: &str) -> anyhow::Result<Vec<u8>> {
    let f = fonts()?;
    let mut doc = Document::new();
    let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| anyhow!("page size"))?;
    let mut page = doc.start_page_with(settings);
    let mut s = page.surface();

    // A double frame in the union's red.
    for (inset, width) in [(18.0, 3.0), (26.0, 1.0)] {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(inset, inset, WIDTH - 2.0 * inset, HEIGHT - 2.0 * inset) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            s.set_fill(None);
            s.set_stroke(Some(Stroke {
                paint: rgb::Color::new(RED.0, RED.1, RED.2).into(),
                width,
                ..Default::default()
            }));
            s.draw_path(&path);
            s.set_stroke(None);
        }
    }

    centred(&mut s, &f.bold, 15.0, 70.0, UNION, RED);
    if !c.issuer_name.is_empty() {
        centred(
            &mut s,
            &f.regular,
            13.0,
            90.0,
            &c.issuer_name.to_uppercase(),
            INK,
        );
    }
    centred(&mut s, &f.bold, 38.0, 160.0, "GIẤY CHỨNG NHẬN", RED);
    centred(&mut s, &f.regular, 14.0, 200.0, "Chứng nhận", INK);
    let name = c
        .holder_name
        .as_deref()
        .unwrap_or("(người nhận đã xóa tài khoản)");
    centred(&mut s, &f.bold, 28.0, 245.0, name, INK);
    if let Some(unit) = c.holder_unit.as_deref().filter(|u| !u.is_empty()) {
        centred(
            &mut s,
            &f.regular,
            14.0,
            272.0,
            &format!("Đơn vị: {unit}"),
            INK,
        );
    }
    // A team's certificate names its members under the team, shortened to the line.
    if let Some(members) = c.team_members.as_deref().filter(|m| !m.is_empty()) {
        let mut line = format!("Thành viên: {members}");
        let room = WIDTH - 2.0 * MARGIN;
        while f.regular.width(&line, 11.0) > room && line.chars().count() > 16 {
            line = line
                .chars()
                .take(line.chars().count() - 2)
                .collect::<String>();
            line.push('…');
        }
        centred(&mut s, &f.regular, 11.0, 292.0, &line, INK);
    }
    let award = match c.award() {
        Award::Participant => "Đã tham gia cuộc thi".to_owned(),
        a => format!("Đạt {}", a.label_vi()),
    };
    centred(&mut s, &f.bold, 22.0, 315.0, &award, RED);
    centred(
        &mut s,
        &f.regular,
        16.0,
        348.0,
        &format!("Cuộc thi: {}", c.contest_title),
        INK,
    );
    if let Some(t) = c.entry_title.as_deref().filter(|t| !t.is_empty()) {
        centred(
            &mut s,
            &f.regular,
            13.0,
            372.0,
            &format!("Tác phẩm: {t}"),
            INK,
        );
    }

    let date = long_date(c.awarded_on);
    let dx = WIDTH - MARGIN - f.regular.width(&date, 13.0);
    left(&mut s, &f.regular, 13.0, dx, 450.0, &date);
    let sign = "BAN TỔ CHỨC";
    let sx = WIDTH - MARGIN - (f.regular.width(&date, 13.0) + f.bold.width(sign, 13.0)) / 2.0;
    left(&mut s, &f.bold, 13.0, sx, 472.0, sign);

    qr(&mut s, verify_url, MARGIN, 420.0, 100.0)?;
    left(
        &mut s,
        &f.regular,
        10.0,
        MARGIN + 110.0,
        470.0,
        "Mã xác minh:",
    );
    left(
        &mut s,
        &f.bold,
        12.0,
        MARGIN + 110.0,
        487.0,
        &c.display_code(),
    );
    left(&mut s, &f.regular, 8.0, MARGIN + 110.0, 503.0, verify_url);

    s.finish();
    page.finish();
    doc.finish()
        .map_err(|e| anyhow!("the certificate's PDF: {e:?}"))
}
