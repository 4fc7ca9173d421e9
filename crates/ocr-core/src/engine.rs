//! The OCR engine: det → (cls) → rec over one image.

use crate::session::Device;
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use crate::cls::{self, CLS_HEIGHT, CLS_WIDTH};
use crate::config::{ClsMode, OcrConfig};
use crate::det::{DbPostprocess, ProbMap, det_tensor, working_size};
use crate::error::{OcrError, Result, Stage};
use crate::geometry::{Homography, LineCrop, straightened_size, warp_quad};
use crate::image_io::decode_image;
use crate::rec::{CtcDecoder, batch_tensor, plan_batches, word_spans};
use crate::resize::resize_rgb;
use crate::session::{SessionOptions, SessionPool};
use crate::types::{BBox, Line, Page, PageTimings, Point, Quad, Word};

/// What the engine runs, for `/version`, `doctor` and logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineInfo {
    pub model: String,
    pub execution_provider: &'static str,
    pub intra_threads: usize,
    pub pool_size: usize,
    /// Recognition batches run at once (`rec.lanes`, resolved).
    pub rec_lanes: usize,
    pub dictionary_size: usize,
    pub cls_mode: ClsMode,
    /// Graph rewrites made at load time, summed over the models (0: loaded as they are).
    pub graph_rewrites: usize,
}

/// PaddleOCR det/cls/rec on ONNX Runtime. Cheap to share across threads (`&self` methods);
/// each model has a pool of sessions.
#[derive(Debug)]
pub struct OcrEngine {
    det: SessionPool,
    cls: Option<SessionPool>,
    rec: SessionPool,
    decoder: CtcDecoder,
    cfg: OcrConfig,
    info: EngineInfo,
    /// Threads that cut the line crops: the cores ONNX Runtime uses, idle while we crop.
    crop_threads: usize,
}

/// The lines one rec batch kept, by candidate index, and its seconds inside ONNX Runtime.
type BatchLines = (Vec<(usize, Line)>, f64);

/// A text box on its way through the pipeline, in working-image coordinates.
struct Candidate {
    /// The quad as found on the page (tl, tr, br, bl).
    quad: Quad,
    /// The corner order the crop is taken in (turned for vertical or upside-down lines).
    crop_quad: Quad,
    /// Width of the crop at the rec height.
    rec_width: u32,
    /// Size of the straightened text at page scale (width along the reading direction).
    native: (u32, u32),
    ratio: f32,
}

impl OcrEngine {
    /// `Device::Auto`: CUDA when the build has it and it starts, else the CPU — with a warning
    /// when CUDA was built in but could not start (a missing driver or library).
    fn new_auto(cfg: OcrConfig) -> Result<Self> {
        if Device::cuda_built() {
            match Self::new(OcrConfig {
                device: Device::Cuda,
                ..cfg.clone()
            }) {
                Ok(e) => return Ok(e),
                Err(e) => tracing::warn!(
                    error = %e,
                    "OCR_DEVICE=auto: CUDA did not start; running OCR on the CPU"
                ),
            }
        }
        Self::new(OcrConfig {
            device: Device::Cpu,
            ..cfg
        })
    }

    /// Loads the models and warms them up with one tiny run each.
    pub fn new(cfg: OcrConfig) -> Result<Self> {
        if cfg.device == Device::Auto {
            return Self::new_auto(cfg);
        }
        cfg.validate()?;
        let opts = SessionOptions {
            intra_threads: cfg.intra_threads,
            device: cfg.device,
            fuse: cfg.fuse_graphs,
        };
        let det = SessionPool::load(Stage::Det, &cfg.models.det, cfg.pool_size, opts)?;
        let threads = match cfg.intra_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let lanes = match cfg.rec.lanes {
            0 => (threads / 4).clamp(1, 4),
            n => n,
        };
        let rec_opts = SessionOptions {
            intra_threads: if lanes > 1 {
                (threads / lanes).max(1)
            } else {
                cfg.intra_threads
            },
            ..opts
        };
        let rec = SessionPool::load(Stage::Rec, &cfg.models.rec, cfg.pool_size * lanes, rec_opts)?;
        let cls = match (&cfg.models.cls, cfg.cls.mode) {
            (Some(path), ClsMode::Page | ClsMode::Line) => {
                Some(SessionPool::load(Stage::Cls, path, cfg.pool_size, opts)?)
            }
            (None, ClsMode::Page | ClsMode::Line) => {
                return Err(OcrError::Config(
                    "cls mode needs a cls model (set models.cls or cls.mode = off)".into(),
                ));
            }
            (_, ClsMode::Off) => None,
        };
        let dictionary = match &cfg.models.dictionary {
            Some(path) => std::fs::read_to_string(path).map_err(|source| OcrError::Io {
                path: path.clone(),
                source,
            })?,
            None => rec.metadata("character")?.ok_or_else(|| {
                OcrError::Dictionary(format!(
                    "{} has no `character` metadata; give a dictionary file",
                    cfg.models.rec.display()
                ))
            })?,
        };
        // One warm-up run per model, which also tells the rec model's class count.
        let h = cfg.rec.height as usize;
        let probe = vec![0.0f32; 3 * h * 64];
        let (classes, _) = rec.run([1, 3, h, 64], &probe, |shape, _| match shape {
            [_, _, c] => Ok(*c as usize),
            _ => Err(OcrError::BadOutput {
                stage: Stage::Rec,
                message: format!("expected [N, T, C], got {shape:?}"),
            }),
        })?;
        let decoder = CtcDecoder::new(&dictionary, classes)?;
        let det_probe = vec![0.0f32; 3 * 64 * 64];
        det.run([1, 3, 64, 64], &det_probe, |_, _| Ok(()))?;
        if let Some(cls) = &cls {
            let p = vec![0.0f32; 3 * (CLS_HEIGHT * CLS_WIDTH) as usize];
            cls.run(
                [1, 3, CLS_HEIGHT as usize, CLS_WIDTH as usize],
                &p,
                |_, _| Ok(()),
            )?;
        }
        let info = EngineInfo {
            model: cfg.models.name.clone(),
            execution_provider: cfg.device.provider_name(),
            intra_threads: cfg.intra_threads,
            pool_size: cfg.pool_size,
            rec_lanes: lanes,
            dictionary_size: decoder.num_classes().saturating_sub(1),
            cls_mode: cfg.cls.mode,
            graph_rewrites: det.rewrites().total()
                + rec.rewrites().total()
                + cls.as_ref().map_or(0, |c| c.rewrites().total()),
        };
        tracing::info!(
            model = %info.model,
            provider = info.execution_provider,
            threads = info.intra_threads,
            pool = info.pool_size,
            rec_lanes = info.rec_lanes,
            graph_rewrites = info.graph_rewrites,
            "OCR engine ready"
        );
        Ok(Self {
            det,
            cls,
            rec,
            decoder,
            cfg,
            info,
            crop_threads: threads,
        })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    pub fn config(&self) -> &OcrConfig {
        &self.cfg
    }

    /// Decodes image bytes (PNG, JPEG, TIFF, WebP) and reads them.
    pub fn recognize_bytes(&self, bytes: &[u8]) -> Result<Page> {
        let img = decode_image(bytes, self.cfg.max_pixels)?;
        self.recognize(&img)
    }

    /// Reads one RGB image. A page turned by 90° or 270° (most detected text boxes stand
    /// upright; see [`OcrConfig::orientation`]) is turned clockwise by 90° and read again, the
    /// page-level classifier then deciding between 90° and 270°; a page upside down is turned
    /// by 180°. Coordinates in the result are the pixels of the page as read (turned by
    /// [`Page::rotation`] degrees clockwise from the image given).
    pub fn recognize(&self, img: &RgbImage) -> Result<Page> {
        let t_start = Instant::now();
        let first = self.read(img, self.cfg.orientation)?;
        let sideways = match first {
            Read::Page(p) => return Ok(p),
            Read::Sideways(t) => t,
        };
        let t = Instant::now();
        let turned = image::imageops::rotate90(img);
        let turn_ms = t.elapsed().as_secs_f64() * 1e3;
        let Read::Page(mut page) = self.read(&turned, false)? else {
            return Err(OcrError::BadOutput {
                stage: Stage::Det,
                message: "a turned page was found sideways again".into(),
            });
        };
        page.rotation = (page.rotation + 90) % 360;
        page.timings.orient_ms = sideways.det_ms + turn_ms;
        page.timings.det_ms += sideways.det_ms;
        page.timings.model_ms += sideways.model_ms;
        page.timings.total_ms = t_start.elapsed().as_secs_f64() * 1e3;
        Ok(page)
    }

    /// One reading of `img` as it stands; with `check_sideways`, a page whose text boxes stand
    /// upright stops after detection.
    fn read(&self, img: &RgbImage, check_sideways: bool) -> Result<Read> {
        let t_start = Instant::now();
        let (orig_w, orig_h) = img.dimensions();
        crate::image_io::check_dimensions(orig_w, orig_h, self.cfg.max_pixels)?;
        let mut timings = PageTimings::default();

        // Shrink huge scans first, as PP-OCR does; crops come from this working image.
        let resized;
        let mut work: &RgbImage = img;
        if let Some((w, h)) = working_size(orig_w, orig_h, self.cfg.det.max_side_len) {
            resized = resize_rgb(img, w, h);
            work = &resized;
        }
        let (ww, wh) = work.dimensions();
        let (sx, sy) = (orig_w as f32 / ww as f32, orig_h as f32 / wh as f32);

        let t = Instant::now();
        let (tensor, shape) = det_tensor(work, &self.cfg.det);
        let post = DbPostprocess { opts: self.cfg.det };
        let (mut boxes, secs) = self.det.run(shape, &tensor, |s, data| {
            let (mh, mw) = match s {
                [_, _, h, w] => (*h as usize, *w as usize),
                _ => {
                    return Err(OcrError::BadOutput {
                        stage: Stage::Det,
                        message: format!("expected [1, 1, H, W], got {s:?}"),
                    });
                }
            };
            if data.len() < mh * mw {
                return Err(OcrError::BadOutput {
                    stage: Stage::Det,
                    message: format!("{} values for a {mw}x{mh} map", data.len()),
                });
            }
            let map = ProbMap {
                data: &data[..mh * mw],
                width: mw,
                height: mh,
            };
            Ok(post.boxes(map, ww, wh))
        })?;
        timings.model_ms += secs * 1e3;
        sort_reading_order(&mut boxes);
        timings.det_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let turned = check_sideways && stands_sideways(&boxes);
        timings.orient_ms = t.elapsed().as_secs_f64() * 1e3;
        if turned {
            return Ok(Read::Sideways(timings));
        }

        let mut cands: Vec<Candidate> = boxes
            .iter()
            .map(|b| candidate(b.quad, self.cfg.rec.height))
            .collect();

        // Orientation.
        let t = Instant::now();
        let mut rotated = false;
        let flipped_img;
        if let Some(cls_pool) = &self.cls {
            match self.cfg.cls.mode {
                ClsMode::Page => {
                    let mut order: Vec<usize> = (0..cands.len()).collect();
                    order.sort_by(|&a, &b| cands[b].ratio.total_cmp(&cands[a].ratio));
                    order.truncate(self.cfg.cls.page_sample);
                    let (votes, secs) = self.classify(cls_pool, work, &cands, &order)?;
                    timings.model_ms += secs * 1e3;
                    if cls::page_is_upside_down(&votes) {
                        rotated = true;
                        flipped_img = image::imageops::rotate180(work);
                        work = &flipped_img;
                        for b in &mut boxes {
                            b.quad = rotate_quad_180(&b.quad, ww as f32, wh as f32);
                        }
                        sort_reading_order(&mut boxes);
                        cands = boxes
                            .iter()
                            .map(|b| candidate(b.quad, self.cfg.rec.height))
                            .collect();
                    }
                }
                ClsMode::Line => {
                    let all: Vec<usize> = (0..cands.len()).collect();
                    let (votes, secs) = self.classify(cls_pool, work, &cands, &all)?;
                    timings.model_ms += secs * 1e3;
                    for (c, flip) in cands.iter_mut().zip(votes) {
                        if flip {
                            let q = c.crop_quad;
                            c.crop_quad = [q[2], q[3], q[0], q[1]];
                        }
                    }
                }
                ClsMode::Off => {}
            }
        }
        timings.cls_ms = t.elapsed().as_secs_f64() * 1e3;

        // Recognition, in batches of similar width, spread over the rec lanes.
        let t = Instant::now();
        let crops = self.crop_all(work, &cands)?;
        let mut order: Vec<usize> = (0..cands.len()).collect();
        order.sort_by_key(|&i| cands[i].rec_width);
        let widths: Vec<u32> = order.iter().map(|&i| cands[i].rec_width).collect();
        let batches = plan_batches(
            &widths,
            self.cfg.rec.batch_size,
            self.cfg.rec.max_width_spread,
        );
        let scale = (sx, sy, orig_w, orig_h);
        let mut lines: Vec<Option<Line>> = vec![None; cands.len()];
        let lanes = self.info.rec_lanes.clamp(1, batches.len().max(1));
        if lanes == 1 {
            for range in &batches {
                let (found, secs) = self.rec_batch(&cands, &crops, &order[range.clone()], scale)?;
                timings.model_ms += secs * 1e3;
                for (i, line) in found {
                    lines[i] = Some(line);
                }
            }
        } else {
            // Each lane takes the next batch (widest first, so the lanes end together) and
            // runs it on a session of its own; the model time counted is the busiest lane's.
            let next = std::sync::atomic::AtomicUsize::new(0);
            let by_cost: Vec<&std::ops::Range<usize>> = batches.iter().rev().collect();
            let results: Vec<Result<BatchLines>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..lanes)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut found = Vec::new();
                            let mut secs = 0.0;
                            loop {
                                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(range) = by_cost.get(k) else { break };
                                let (f, s) = self.rec_batch(
                                    &cands,
                                    &crops,
                                    &order[(*range).clone()],
                                    scale,
                                )?;
                                found.extend(f);
                                secs += s;
                            }
                            Ok((found, secs))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(OcrError::BadOutput {
                                stage: Stage::Rec,
                                message: "a recognition lane panicked".into(),
                            })
                        })
                    })
                    .collect()
            });
            let mut busiest: f64 = 0.0;
            for r in results {
                let (found, secs) = r?;
                busiest = busiest.max(secs);
                for (i, line) in found {
                    lines[i] = Some(line);
                }
            }
            timings.model_ms += busiest * 1e3;
        }
        timings.rec_ms = t.elapsed().as_secs_f64() * 1e3;
        timings.total_ms = t_start.elapsed().as_secs_f64() * 1e3;
        Ok(Read::Page(Page {
            width: orig_w,
            height: orig_h,
            lines: lines.into_iter().flatten().collect(),
            rotation: if rotated { 180 } else { 0 },
            timings,
        }))
    }

    /// Straightens every candidate's line into a crop at the rec height, on `crop_threads`
    /// threads (ONNX Runtime's cores are idle meanwhile). Crops come back in candidate order.
    fn crop_all(&self, work: &RgbImage, cands: &[Candidate]) -> Result<Vec<LineCrop>> {
        let h = self.cfg.rec.height;
        let one = |c: &Candidate| crop(work, c, c.rec_width, h);
        if self.crop_threads <= 1 || cands.len() < 8 {
            return cands.iter().map(one).collect();
        }
        let per = cands.len().div_ceil(self.crop_threads);
        let one = &one;
        std::thread::scope(|scope| {
            let parts: Vec<_> = cands
                .chunks(per)
                .map(|part| scope.spawn(move || part.iter().map(one).collect::<Result<Vec<_>>>()))
                .collect();
            let mut out = Vec::with_capacity(cands.len());
            for part in parts {
                out.extend(part.join().unwrap_or_else(|_| {
                    Err(OcrError::BadOutput {
                        stage: Stage::Rec,
                        message: "a crop thread panicked".into(),
                    })
                })?);
            }
            Ok(out)
        })
    }

    /// Recognises and decodes one batch of candidates (`idx`, ascending width) from their
    /// crops. Returns the lines kept, by candidate index, and the seconds spent inside ONNX
    /// Runtime.
    fn rec_batch(
        &self,
        cands: &[Candidate],
        crops: &[LineCrop],
        idx: &[usize],
        (sx, sy, orig_w, orig_h): (f32, f32, u32, u32),
    ) -> Result<BatchLines> {
        let h = self.cfg.rec.height;
        let widest = idx.iter().map(|&i| cands[i].rec_width).max().unwrap_or(0);
        let batch_w = (widest + self.cfg.rec.right_pad).max(self.cfg.rec.min_width);
        let refs: Vec<&RgbImage> = idx.iter().map(|&i| &crops[i].image).collect();
        let (tensor, shape) = batch_tensor(&refs, h, batch_w);
        let n = idx.len();
        let (decoded, secs) = self.rec.run(shape, &tensor, |s, data| {
            let (steps, classes) = match s {
                [b, t, c] if *b as usize == n => (*t as usize, *c as usize),
                _ => {
                    return Err(OcrError::BadOutput {
                        stage: Stage::Rec,
                        message: format!("expected [{n}, T, C], got {s:?}"),
                    });
                }
            };
            data.chunks_exact(steps * classes)
                .map(|row| self.decoder.decode(row, steps))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut out = Vec::with_capacity(n);
        for (&i, d) in idx.iter().zip(decoded) {
            let crop = &crops[i];
            let confidence = d.confidence();
            let text = d.text();
            if text.trim().is_empty() || confidence < self.cfg.rec.min_score {
                continue;
            }
            let to_orig = |x: f64, y: f64| {
                let (px, py) = crop.page_point(x, y);
                Point::new(px as f32 * sx, py as f32 * sy)
            };
            let words = word_spans(&d, batch_w, cands[i].rec_width, self.cfg.rec.word_gap)
                .into_iter()
                .map(|w| {
                    let (x0, x1, hh) = (f64::from(w.x0), f64::from(w.x1), f64::from(h));
                    let corners = [
                        to_orig(x0, 0.0),
                        to_orig(x1, 0.0),
                        to_orig(x1, hh),
                        to_orig(x0, hh),
                    ];
                    Word {
                        text: w.text,
                        bbox: clamp_bbox(BBox::around(&corners), orig_w, orig_h),
                        confidence: w.prob,
                    }
                })
                .collect();
            let quad = cands[i].quad.map(|p| Point::new(p.x * sx, p.y * sy));
            out.push((
                i,
                Line {
                    text,
                    confidence,
                    quad,
                    words,
                },
            ));
        }
        Ok((out, secs))
    }

    /// Runs the classifier over the chosen candidates; returns an "upside down" vote for each.
    fn classify(
        &self,
        pool: &SessionPool,
        work: &RgbImage,
        cands: &[Candidate],
        which: &[usize],
    ) -> Result<(Vec<bool>, f64)> {
        let mut votes = Vec::with_capacity(which.len());
        let mut secs_total = 0.0;
        for chunk in which.chunks(self.cfg.cls.batch_size.max(1)) {
            let crops: Vec<RgbImage> = chunk
                .iter()
                .map(|&i| {
                    let c = &cands[i];
                    crop(work, c, cls::cls_width(c.ratio), CLS_HEIGHT).map(|c| c.image)
                })
                .collect::<Result<_>>()?;
            let (tensor, shape) = batch_tensor(&cls::as_refs(&crops), CLS_HEIGHT, CLS_WIDTH);
            let n = chunk.len();
            let thresh = self.cfg.cls.thresh;
            let (v, secs) = pool.run(shape, &tensor, |s, d| cls::upside_down(s, d, n, thresh))?;
            votes.extend(v);
            secs_total += secs;
        }
        Ok((votes, secs_total))
    }
}

fn candidate(quad: Quad, rec_height: u32) -> Candidate {
    let (nw, nh) = straightened_size(&quad);
    let (w, h) = (nw.max(1) as f32, nh.max(1) as f32);
    // Tall narrow boxes hold vertical text: read them turned a quarter counter-clockwise.
    let (crop_quad, ratio, native) = if h / w >= 1.5 {
        ([quad[1], quad[2], quad[3], quad[0]], h / w, (nh, nw))
    } else {
        (quad, w / h, (nw, nh))
    };
    let rec_width = ((rec_height as f32 * ratio).ceil() as u32).max(1);
    Candidate {
        quad,
        crop_quad,
        rec_width,
        native,
        ratio,
    }
}

fn crop(work: &RgbImage, c: &Candidate, w: u32, h: u32) -> Result<LineCrop> {
    let quad = &c.crop_quad;
    warp_quad(work, quad, c.native, w, h)
        .or_else(|| {
            // A degenerate quad (all corners collinear): fall back to its bounding box.
            let b = BBox::around(quad);
            let q = [
                Point::new(b.x1, b.y1),
                Point::new(b.x2.max(b.x1 + 1.0), b.y1),
                Point::new(b.x2.max(b.x1 + 1.0), b.y2.max(b.y1 + 1.0)),
                Point::new(b.x1, b.y2.max(b.y1 + 1.0)),
            ];
            warp_quad(work, &q, c.native, w, h)
        })
        .ok_or_else(|| OcrError::BadOutput {
            stage: Stage::Rec,
            message: "cannot crop a degenerate text box".into(),
        })
}

/// What one reading of an image gave: the page, or only the finding that it stands sideways
/// (with the detection's timings).
enum Read {
    Page(Page),
    Sideways(PageTimings),
}

/// A page turned by 90° or 270°: of the detected boxes that are clearly elongated, at least
/// three stand upright and they outnumber the lying ones two to one. Single characters and
/// short numbers (square-ish boxes) do not vote.
fn stands_sideways(boxes: &[crate::det::DetBox]) -> bool {
    let (mut upright, mut lying) = (0usize, 0usize);
    for b in boxes {
        let q = &b.quad;
        let side = |a: Point, c: Point| ((a.x - c.x).powi(2) + (a.y - c.y).powi(2)).sqrt();
        let (top, right) = (side(q[0], q[1]), side(q[1], q[2]));
        // Which side runs along x decides: DB's quads start top-left, clockwise.
        let (dx, dy) = ((q[1].x - q[0].x).abs(), (q[1].y - q[0].y).abs());
        let (w, h) = if dx >= dy { (top, right) } else { (right, top) };
        if h >= 2.5 * w {
            upright += 1;
        } else if w >= 2.5 * h {
            lying += 1;
        }
    }
    upright >= 3 && upright > 2 * lying
}

fn rotate_quad_180(q: &Quad, w: f32, h: f32) -> Quad {
    let r = |p: Point| Point::new((w - 1.0 - p.x).max(0.0), (h - 1.0 - p.y).max(0.0));
    [r(q[2]), r(q[3]), r(q[0]), r(q[1])]
}

fn clamp_bbox(b: BBox, w: u32, h: u32) -> BBox {
    let (w, h) = (w as f32, h as f32);
    BBox {
        x1: b.x1.clamp(0.0, w),
        y1: b.y1.clamp(0.0, h),
        x2: b.x2.clamp(0.0, w),
        y2: b.y2.clamp(0.0, h),
    }
}

/// PP-OCR's box order: by top-left corner, top to bottom, then left to right among boxes whose
/// tops are within 10 px of each other.
fn sort_reading_order(boxes: &mut [crate::det::DetBox]) {
    boxes.sort_by(|a, b| {
        a.quad[0]
            .y
            .total_cmp(&b.quad[0].y)
            .then(a.quad[0].x.total_cmp(&b.quad[0].x))
    });
    for i in 0..boxes.len().saturating_sub(1) {
        let mut j = i;
        loop {
            let (a, b) = (boxes[j].quad[0], boxes[j + 1].quad[0]);
            if (b.y - a.y).abs() < 10.0 && b.x < a.x {
                boxes.swap(j, j + 1);
                if j == 0 {
                    break;
                }
                j -= 1;
            } else {
                break;
            }
        }
    }
}

/// Maps a point through a homography (re-exported for tests of word geometry).
pub fn map_point(h: &Homography, x: f64, y: f64) -> Point {
    let (px, py) = h.apply(x, y);
    Point::new(px as f32, py as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::det::DetBox;

    fn bx(x: f32, y: f32) -> DetBox {
        DetBox {
            quad: [
                Point::new(x, y),
                Point::new(x + 10.0, y),
                Point::new(x + 10.0, y + 5.0),
                Point::new(x, y + 5.0),
            ],
            score: 1.0,
        }
    }

    #[test]
    fn reading_order_groups_lines_within_10px() {
        let mut b = vec![bx(50.0, 12.0), bx(5.0, 40.0), bx(10.0, 15.0), bx(0.0, 10.0)];
        sort_reading_order(&mut b);
        let xs: Vec<f32> = b.iter().map(|d| d.quad[0].x).collect();
        assert_eq!(xs, [0.0, 10.0, 50.0, 5.0]);
    }

    #[test]
    fn vertical_boxes_are_read_turned() {
        let q = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 40.0),
            Point::new(0.0, 40.0),
        ];
        let c = candidate(q, 48);
        assert_eq!(c.crop_quad[0], q[1]);
        assert_eq!(c.rec_width, 192);
        let flat = candidate(
            [
                q[0],
                Point::new(40.0, 0.0),
                Point::new(40.0, 10.0),
                Point::new(0.0, 10.0),
            ],
            48,
        );
        assert_eq!(flat.rec_width, 192);
        assert_eq!(flat.crop_quad[0], q[0]);
    }

    #[test]
    fn rotating_a_quad_keeps_it_clockwise_from_top_left() {
        let q = [
            Point::new(10.0, 20.0),
            Point::new(30.0, 20.0),
            Point::new(30.0, 25.0),
            Point::new(10.0, 25.0),
        ];
        let r = rotate_quad_180(&q, 101.0, 51.0);
        assert_eq!(r[0], Point::new(70.0, 25.0));
        assert_eq!(r[2], Point::new(90.0, 30.0));
    }
}
