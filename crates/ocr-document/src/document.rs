//! The OCR Document: every page of a document as words with boxes in page pixels, the lines
//! they form, and the path the page took (PDF text layer or OCR).

use serde::{Deserialize, Serialize};

use crate::reading_order;

/// An axis-aligned box `[x1, y1, x2, y2]` in page pixels, origin at the top left.
pub type BBox = [f32; 4];

/// A whole document, pages in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OcrDocument {
    pub pages: Vec<DocPage>,
}

/// How a page's words were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageSource {
    /// Read from the PDF's text layer: exact text, no OCR.
    #[serde(rename = "text-layer")]
    TextLayer,
    /// Recognised from pixels (an image, or a PDF page without a usable text layer).
    #[serde(rename = "ocr")]
    Ocr,
}

/// One word: its text, box and recognition confidence (1 for text-layer words).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocWord {
    pub text: String,
    pub bbox: BBox,
    pub conf: f32,
}

/// A line: words side by side on one baseline, with no column gap between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocLine {
    /// The words joined by single spaces.
    pub text: String,
    pub bbox: BBox,
    /// Indices into the page's `words`, left to right.
    pub words: Vec<usize>,
}

/// One page. `words` are in reading order: lines top to bottom, words left to right, and a
/// column separated by a clear vertical gutter read before the one beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocPage {
    /// 0-based page number in the document.
    pub index: usize,
    pub width: u32,
    pub height: u32,
    pub source: PageSource,
    pub words: Vec<DocWord>,
    pub lines: Vec<DocLine>,
    /// Degrees (0, 90, 180, 270) the page's image was turned clockwise before it was read;
    /// `width`, `height` and every box are those of the turned page
    /// ([`DocPage::to_source`] maps a box back onto the image as it was sent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rotation: u16,
}

fn is_zero(r: &u16) -> bool {
    *r == 0
}

impl DocPage {
    /// Builds a page from words in any order: drops empty words, clamps boxes to the page,
    /// computes the lines and puts words and lines in reading order.
    pub fn from_words(
        index: usize,
        width: u32,
        height: u32,
        source: PageSource,
        words: impl IntoIterator<Item = DocWord>,
    ) -> Self {
        let (w, h) = (width as f32, height as f32);
        let words: Vec<DocWord> = words
            .into_iter()
            .filter(|wd| !wd.text.trim().is_empty())
            .filter_map(|mut wd| {
                let [x1, y1, x2, y2] = wd.bbox;
                if ![x1, y1, x2, y2].iter().all(|v| v.is_finite()) {
                    return None;
                }
                wd.bbox = [
                    x1.min(x2).clamp(0.0, w),
                    y1.min(y2).clamp(0.0, h),
                    x1.max(x2).clamp(0.0, w),
                    y1.max(y2).clamp(0.0, h),
                ];
                wd.text = wd.text.trim().to_string();
                Some(wd)
            })
            .collect();
        let boxes: Vec<BBox> = words.iter().map(|w| w.bbox).collect();
        let groups = reading_order::lines_in_reading_order(&boxes);
        let mut ordered = Vec::with_capacity(words.len());
        let mut lines = Vec::with_capacity(groups.len());
        for group in groups {
            let start = ordered.len();
            for &i in &group {
                ordered.push(words[i].clone());
            }
            let members: Vec<usize> = (start..ordered.len()).collect();
            let text = members
                .iter()
                .map(|&i| ordered[i].text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let bbox = union(members.iter().map(|&i| ordered[i].bbox));
            lines.push(DocLine {
                text,
                bbox,
                words: members,
            });
        }
        DocPage {
            index,
            width,
            height,
            source,
            words: ordered,
            lines,
            rotation: 0,
        }
    }

    /// The page as read after its image was turned `rotation` degrees clockwise.
    pub fn turned(mut self, rotation: u16) -> Self {
        self.rotation = rotation % 360;
        self
    }

    /// The page with every box on the image as it was sent (width and height too), for output;
    /// `rotation` is kept, so a reader knows the page was read turned. Words and lines keep
    /// their reading order.
    pub fn in_source_frame(&self) -> DocPage {
        let mut p = self.clone();
        if self.rotation == 0 {
            return p;
        }
        for w in &mut p.words {
            w.bbox = self.to_source(w.bbox);
        }
        for l in &mut p.lines {
            l.bbox = self.to_source(l.bbox);
        }
        if self.rotation % 180 == 90 {
            (p.width, p.height) = (self.height, self.width);
        }
        p
    }

    /// A box of this page (in the turned page's pixels) on the image as it was sent.
    pub fn to_source(&self, b: BBox) -> BBox {
        let (w, h) = (self.width as f32, self.height as f32);
        // (x, y) on the turned page → (x, y) on the image before the turn.
        let back = |x: f32, y: f32| match self.rotation {
            90 => (y, w - x),
            180 => (w - x, h - y),
            270 => (h - y, x),
            _ => (x, y),
        };
        let (ax, ay) = back(b[0], b[1]);
        let (bx, by) = back(b[2], b[3]);
        [ax.min(bx), ay.min(by), ax.max(bx), ay.max(by)]
    }

    /// The page's text, one line per line.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl OcrDocument {
    /// Every word of every page with its page index, in reading order.
    pub fn words(&self) -> impl Iterator<Item = (usize, &DocWord)> {
        self.pages
            .iter()
            .flat_map(|p| p.words.iter().map(move |w| (p.index, w)))
    }

    /// The document's text, pages separated by a form feed.
    pub fn text(&self) -> String {
        self.pages
            .iter()
            .map(DocPage::text)
            .collect::<Vec<_>>()
            .join("\n\u{c}\n")
    }
}

/// The smallest box holding all the given boxes (`[0; 4]` for none).
pub fn union(boxes: impl IntoIterator<Item = BBox>) -> BBox {
    boxes
        .into_iter()
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
        .unwrap_or([0.0; 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_of_a_turned_page_map_back_onto_the_image_sent() {
        // The image sent is 100 wide and 40 high; a box at x 10..20, y 5..15 on it.
        let page = |rot: u16, w: u32, h: u32| {
            DocPage::from_words(0, w, h, PageSource::Ocr, Vec::new()).turned(rot)
        };
        let sent = [10.0, 5.0, 20.0, 15.0];
        // Turned 90° clockwise the page is 40 x 100: (x, y) → (40 - y, x).
        assert_eq!(page(90, 40, 100).to_source([25.0, 10.0, 35.0, 20.0]), sent);
        // 180°: (x, y) → (100 - x, 40 - y).
        assert_eq!(page(180, 100, 40).to_source([80.0, 25.0, 90.0, 35.0]), sent);
        // 270°: (x, y) → (y, 100 - x).
        assert_eq!(page(270, 40, 100).to_source([5.0, 80.0, 15.0, 90.0]), sent);
        assert_eq!(page(0, 100, 40).to_source(sent), sent);
        // The whole page: sizes swap back on quarter turns, boxes follow.
        let word = DocWord {
            text: "TOTAL".into(),
            bbox: [25.0, 10.0, 35.0, 20.0],
            conf: 0.9,
        };
        let turned = DocPage::from_words(0, 40, 100, PageSource::Ocr, vec![word]).turned(90);
        let sent_page = turned.in_source_frame();
        assert_eq!((sent_page.width, sent_page.height), (100, 40));
        assert_eq!(sent_page.words[0].bbox, sent);
        assert_eq!(sent_page.lines[0].bbox, sent);
        assert_eq!(sent_page.rotation, 90);
    }

    fn word(text: &str, bbox: BBox) -> DocWord {
        DocWord {
            text: text.into(),
            bbox,
            conf: 1.0,
        }
    }

    #[test]
    fn words_are_cleaned_clamped_and_put_in_reading_order() {
        let page = DocPage::from_words(
            0,
            100,
            50,
            PageSource::Ocr,
            vec![
                word("world", [40.0, 2.0, 70.0, 12.0]),
                word("  ", [0.0, 0.0, 5.0, 5.0]),
                word("next", [2.0, 20.0, 30.0, 30.0]),
                word("hello", [-3.0, 1.0, 30.0, 11.0]),
                word("bad", [f32::NAN, 0.0, 1.0, 1.0]),
                word("edge", [80.0, 40.0, 130.0, 55.0]),
            ],
        );
        let texts: Vec<&str> = page.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["hello", "world", "next", "edge"]);
        assert_eq!(page.words[0].bbox, [0.0, 1.0, 30.0, 11.0]);
        assert_eq!(page.words[3].bbox, [80.0, 40.0, 100.0, 50.0]);
        assert_eq!(page.lines[0].text, "hello world");
        assert_eq!(page.lines[0].bbox, [0.0, 1.0, 70.0, 12.0]);
        assert_eq!(page.text(), "hello world\nnext\nedge");
    }

    #[test]
    fn serde_uses_the_documented_names() {
        let page = DocPage::from_words(
            1,
            10,
            10,
            PageSource::TextLayer,
            vec![word("a", [1.0, 1.0, 2.0, 2.0])],
        );
        let v = serde_json::to_value(&page).expect("serialises");
        assert_eq!(v["source"], "text-layer");
        assert_eq!(
            v["words"][0]["bbox"],
            serde_json::json!([1.0, 1.0, 2.0, 2.0])
        );
        let back: DocPage = serde_json::from_value(v).expect("deserialises");
        assert_eq!(back, page);
    }
}
