//! SVG (and gzip'd SVGZ): sniffed, parsed once, rendered at the output size.
//!
//! The probe recognises an SVG by its root element (after an optional BOM,
//! XML declaration, comments, processing instructions and doctype), refuses
//! XML entity declarations before any parsing (no entity is ever expanded:
//! "billion laughs" is a fast `422`), parses the document with `roxmltree`
//! under a node limit, estimates how many nodes `<use>` references and
//! markers would instantiate before `usvg` expands them, converts it with
//! `usvg` and measures the converted tree's rendering work. The intrinsic
//! size is `usvg`'s: `width`/`height`, else the `viewBox`, else 300x150 (the
//! CSS default object size). The parsed tree travels in the probe's header.
//!
//! The decoder renders the tree with `resvg` at the scale the layout asks
//! for ([`DecodeRequest::scale`]): the output pixels are drawn, not
//! resampled from a render at the intrinsic size. The rendered size is held
//! to `max_dimension` per side and `max_src_pixels`, and the rendering work
//! to a budget, before the pixmap is allocated. Alpha is kept (the
//! background is transparent until `b_` flattens it); a render opaque
//! everywhere becomes RGB, so that it is written as a JPEG by default.
//!
//! Nothing outside the file is read: external images, stylesheets and fonts
//! are ignored (usvg never opens a connection; its file loader is replaced
//! by one that loads nothing), `data:` images inside the SVG are ignored too
//! (resvg would decode them with its own decoders, outside our limits), no
//! script runs (SVG renderers have none), and text is not drawn (no font is
//! loaded: README, "Input formats").

use std::collections::HashMap;
use std::sync::Arc;

use resvg::tiny_skia;
use resvg::usvg::{self, roxmltree};

use super::{Header, corrupt};
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Image, PipelineError, Probe, deadline};

/// The size of an SVG with neither `width`/`height` nor `viewBox`: the CSS
/// default size of a replaced element, what browsers show.
const DEFAULT_SIZE: (f32, f32) = (300.0, 150.0);

/// Most bytes an SVGZ may inflate to: larger than any real drawing, and a
/// gzip bomb stops there instead of filling memory.
const MAX_INFLATED_BYTES: usize = 32 * 1024 * 1024;

/// Most XML nodes (elements, attributes' text, comments) parsed: real
/// drawings have hundreds to a few tens of thousands, so this only stops
/// files made to exhaust the parser (not calibrated by measurement yet).
const MAX_XML_NODES: u32 = 400_000;

/// Most nodes the document may stand for once `<use>` references and
/// markers are instantiated: a few `<use>` elements nested ten deep stand
/// for billions of nodes, which `usvg` would build before we could count
/// them, so the expansion is estimated on the XML first.
const MAX_EXPANDED_NODES: u64 = 200_000;

/// Deepest nesting of elements, `<use>` references and markers followed
/// together. usvg converts and resvg draws a document recursively, on the
/// thread's stack (2 MiB on a worker thread): an SVG nested a hundred
/// thousand deep would overflow it and abort the process, so it is refused
/// first. Drawings made by editors nest a few tens deep.
const MAX_DEPTH: u32 = 128;

/// Most rendering work of one SVG, in pixel operations: each node drawn
/// costs about its share of the canvas, each layer (group opacity, mask,
/// clip path, filter) a canvas-sized composite, each filter primitive up to
/// 25 canvases (resvg clips a filter region to 5x5 canvases). At about
/// 1-2 ns a pixel operation this is a few seconds of one core at most.
const MAX_RENDER_WORK: u64 = 2_000_000_000;

/// The work of drawing one node apart from the pixels it covers (path
/// setup, transforms), in pixel operations.
const NODE_WORK: u64 = 2_000;

/// A parsed SVG, shared between the probe and the decoder so that the
/// document is parsed once.
#[derive(Clone)]
pub struct Document {
    tree: Arc<usvg::Tree>,
    /// The intrinsic size in pixels (width, height), which the tree's user
    /// space spans.
    size: (f32, f32),
    /// What rendering costs besides the canvas: nodes, layers, filter
    /// primitives (see [`Document::work`]).
    nodes: u64,
    layers: u64,
    filter_primitives: u64,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("size", &self.size)
            .field("nodes", &self.nodes)
            .field("layers", &self.layers)
            .field("filter_primitives", &self.filter_primitives)
            .finish()
    }
}

/// Two documents are equal when they are the same parse.
impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.tree, &other.tree)
    }
}

impl Document {
    /// The rendering work at `pixels` canvas pixels, in pixel operations.
    fn work(&self, pixels: u64) -> u64 {
        let canvases = 1 + self.layers + 25 * self.filter_primitives;
        self.nodes
            .saturating_mul(NODE_WORK)
            .saturating_add(canvases.saturating_mul(pixels))
    }
}

/// Recognises an SVG or SVGZ; `None` when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    if bytes.starts_with(&[0x1F, 0x8B]) {
        let inflated = inflate_gzip(bytes)?;
        root_element(&inflated)?;
        return Some(read_probe(&inflated));
    }
    root_element(bytes)?;
    Some(read_probe(bytes))
}

/// Inflates a gzip member up to [`MAX_INFLATED_BYTES`]; `None` when it is
/// not gzip or does not inflate (then it is not an SVGZ either).
fn inflate_gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    // RFC 1952: magic, method 8 (deflate), flags, mtime, xfl, os.
    if bytes.get(2) != Some(&8) {
        return None;
    }
    let flags = *bytes.get(3)?;
    let mut at = 10;
    if flags & 0x04 != 0 {
        let extra = usize::from(super::le16(bytes, at)?);
        at += 2 + extra;
    }
    for flag in [0x08, 0x10] {
        if flags & flag != 0 {
            // A zero-terminated file name or comment.
            at += bytes.get(at..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & 0x02 != 0 {
        at += 2;
    }
    miniz_oxide::inflate::decompress_to_vec_with_limit(bytes.get(at..)?, MAX_INFLATED_BYTES).ok()
}

/// What comes before the root element: whether it declares entities.
struct Prolog {
    declares_entities: bool,
}

/// Finds the root element past the prolog; `Some` when it is `<svg` (with
/// or without a namespace prefix).
fn root_element(bytes: &[u8]) -> Option<Prolog> {
    let mut rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut declares_entities = false;
    loop {
        rest = rest.trim_ascii_start();
        if let Some(after) = rest.strip_prefix(b"<?") {
            rest = after.get(find(after, b"?>")? + 2..)?;
        } else if let Some(after) = rest.strip_prefix(b"<!--") {
            rest = after.get(find(after, b"-->")? + 3..)?;
        } else if rest.starts_with(b"<!DOCTYPE") {
            let end = doctype_end(rest)?;
            declares_entities |= find(&rest[..end], b"<!ENTITY").is_some();
            rest = &rest[end..];
        } else {
            break;
        }
    }
    let name = rest.strip_prefix(b"<")?;
    let end = name
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))?;
    let name = &name[..end];
    let local = name.rsplit(|&b| b == b':').next()?;
    (local == b"svg").then_some(Prolog { declares_entities })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The index just past a `<!DOCTYPE ...>` at the start of `text`, skipping
/// its internal subset (`[...]`) and quoted strings.
fn doctype_end(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in text.iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'[') => depth += 1,
            (None, b']') => depth = depth.saturating_sub(1),
            (None, b'>') if depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn too_complex(what: impl std::fmt::Display) -> PipelineError {
    PipelineError::Unprocessable(format!("the SVG is too complex to render: {what}"))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let prolog = root_element(bytes).ok_or_else(|| corrupt("the SVG has no root element"))?;
    if prolog.declares_entities {
        return Err(PipelineError::Unprocessable(
            "the SVG declares XML entities, which resizer does not expand: remove the \
             <!ENTITY> declarations from its doctype"
                .to_owned(),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt("the SVG is not UTF-8 text"))?;
    let options = roxmltree::ParsingOptions {
        // A doctype is allowed (most editors write one); its entities were
        // refused above, and external DTDs are never read.
        allow_dtd: true,
        nodes_limit: MAX_XML_NODES,
        entity_resolver: None,
    };
    let xml = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => too_complex(format!("over {MAX_XML_NODES} XML nodes")),
        e => corrupt(format!("SVG: {e}")),
    })?;
    let expanded = expanded_nodes(&xml);
    if expanded > MAX_EXPANDED_NODES {
        return Err(too_complex(format!(
            "it nests over {MAX_DEPTH} levels deep, or its <use> references and markers stand \
             for over {MAX_EXPANDED_NODES} nodes"
        )));
    }
    deadline::check()?;
    let tree = usvg::Tree::from_xmltree(&xml, &options_nothing_external()).map_err(|e| match e {
        usvg::Error::ElementsLimitReached => too_complex("too many elements"),
        e => corrupt(format!("SVG: {e}")),
    })?;
    deadline::check()?;
    let document = measure(tree, intrinsic_size(&xml));
    let size = document.size;
    let side = |v: f32| -> Result<u32, PipelineError> {
        let v = v.round();
        if v.is_finite() && v >= 1.0 && v <= u32::MAX as f32 {
            Ok(v as u32)
        } else {
            Err(corrupt(format!("the SVG's size of {v} pixels is not usable")))
        }
    };
    let mut probe = Probe::new(SourceFormat::Svg, side(size.0)?, side(size.1)?)?;
    probe.has_alpha = true;
    probe.header = Header::Svg(document);
    Ok(probe)
}

/// The size a browser gives the document, where it differs from usvg's:
/// without a `viewBox`, a missing `width` is 300 and a missing `height` 150
/// (the CSS default object size; usvg would measure the drawing instead),
/// user units staying pixels. `None` when usvg's own size stands.
fn intrinsic_size(xml: &roxmltree::Document) -> Option<(Option<f32>, Option<f32>)> {
    let root = xml.root_element();
    if root.has_attribute("viewBox") {
        return None;
    }
    let width = (!root.has_attribute("width")).then_some(DEFAULT_SIZE.0);
    let height = (!root.has_attribute("height")).then_some(DEFAULT_SIZE.1);
    (width.is_some() || height.is_some()).then_some((width, height))
}

/// usvg's options with every external resource refused and the default size
/// of [`DEFAULT_SIZE`].
fn options_nothing_external() -> usvg::Options<'static> {
    let mut options = usvg::Options::default();
    if let Some(size) = usvg::Size::from_wh(DEFAULT_SIZE.0, DEFAULT_SIZE.1) {
        options.default_size = size;
    }
    options.resources_dir = None;
    options.style_sheet = None;
    options.image_href_resolver = usvg::ImageHrefResolver {
        resolve_data: Box::new(|_, _, _| None),
        resolve_string: Box::new(|_, _| None),
    };
    options
}

/// An estimate from above of the nodes the document stands for once every
/// `<use>` and marker is instantiated: each element counts 1 plus its
/// children, a `<use>` the element it names, a marker reference the
/// marker's content once per vertex the path may have (at most one per two
/// bytes of its data). Cycles count as one node (usvg skips them). Nesting
/// past [`MAX_DEPTH`], counting references followed, counts as too many:
/// the recursion here is bounded by it, and so is usvg's afterwards.
fn expanded_nodes(xml: &roxmltree::Document) -> u64 {
    let ids: HashMap<&str, roxmltree::Node> = xml
        .descendants()
        .filter_map(|n| n.attribute("id").map(|id| (id, n)))
        .collect();
    let mut memo = HashMap::new();
    let (total, height) = count(xml.root_element(), &ids, &mut memo, 0);
    if height > MAX_DEPTH { TOO_MANY } else { total }
}

/// The count that stands for "too many" and for "too deep" alike.
const TOO_MANY: u64 = MAX_EXPANDED_NODES + 1;

/// Per element: its expanded count and height (the deepest nesting below
/// it, references followed), or `None` while it is being counted (a cycle).
type Memo = HashMap<roxmltree::NodeId, Option<(u64, u32)>>;

/// The expanded count and height of `node`, met `depth` levels down.
fn count<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    ids: &HashMap<&'a str, roxmltree::Node<'a, 'i>>,
    memo: &mut Memo,
    depth: u32,
) -> (u64, u32) {
    // Bounds this recursion itself; the heights bound usvg's.
    if depth > MAX_DEPTH {
        return (TOO_MANY, MAX_DEPTH + 1);
    }
    match memo.get(&node.id()) {
        Some(Some(known)) => return *known,
        Some(None) => return (1, 1),
        None => {}
    }
    memo.insert(node.id(), None);
    let reference = |value: &str| -> Option<roxmltree::Node<'a, 'i>> {
        let value = value.trim();
        let id = value
            .strip_prefix("url(")
            .and_then(|v| v.strip_suffix(')'))
            .unwrap_or(value)
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .strip_prefix('#')?;
        ids.get(id).copied()
    };
    let mut total: u64 = 1;
    let mut height: u32 = 0;
    let add = |total: &mut u64, height: &mut u32, (n, h): (u64, u32), times: u64| {
        *total = total.saturating_add(n.saturating_mul(times));
        *height = (*height).max(h);
    };
    if node.tag_name().name() == "use" {
        let href = node.attributes().find(|a| a.name() == "href").map(|a| a.value());
        if let Some(target) = href.and_then(reference) {
            add(&mut total, &mut height, count(target, ids, memo, depth + 1), 1);
        }
    }
    for marker in ["marker-start", "marker-mid", "marker-end", "marker"] {
        if let Some(target) = node.attribute(marker).and_then(reference) {
            let vertices = node
                .attribute("d")
                .or_else(|| node.attribute("points"))
                .map_or(2, |d| d.len() as u64 / 2 + 2);
            add(
                &mut total,
                &mut height,
                count(target, ids, memo, depth + 1),
                vertices,
            );
        }
    }
    for child in node.children().filter(roxmltree::Node::is_element) {
        add(&mut total, &mut height, count(child, ids, memo, depth + 1), 1);
        if total > MAX_EXPANDED_NODES || height > MAX_DEPTH {
            break;
        }
    }
    let result = (total, height.saturating_add(1));
    memo.insert(node.id(), Some(result));
    result
}

/// Counts what rendering the converted tree costs besides its canvas.
fn measure(tree: usvg::Tree, defaults: Option<(Option<f32>, Option<f32>)>) -> Document {
    let (width, height) = defaults.unwrap_or((None, None));
    let size = (
        width.unwrap_or(tree.size().width()),
        height.unwrap_or(tree.size().height()),
    );
    let mut document = Document {
        tree: Arc::new(tree),
        size,
        nodes: 0,
        layers: 0,
        filter_primitives: 0,
    };
    let tree = Arc::clone(&document.tree);
    walk(tree.root(), &mut document);
    document
}

fn walk(group: &usvg::Group, document: &mut Document) {
    document.nodes += 1;
    if group.should_isolate() {
        document.layers += 1;
    }
    for filter in group.filters() {
        document.filter_primitives += filter.primitives().len() as u64;
    }
    for node in group.children() {
        match node {
            usvg::Node::Group(g) => walk(g, document),
            _ => document.nodes += 1,
        }
        // Clip paths, masks and patterns are drawn too, each on a layer.
        node.subroots(|sub| {
            document.layers += 1;
            walk(sub, document);
        });
    }
}

/// Renders the probed document at the request's scale.
pub fn decode(probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let Header::Svg(document) = &probe.header else {
        return Err(corrupt("the SVG was not parsed"));
    };
    let limits = &request.limits;
    let (sx, sy) = request.scale;
    let side = |intrinsic: u32, scale: f64| {
        let v = (f64::from(intrinsic) * scale).round();
        if v.is_finite() { v.max(1.0) } else { f64::MAX }
    };
    let (w, h) = (side(probe.width, sx), side(probe.height, sy));
    let max_side = f64::from(limits.max_dimension);
    if w > max_side || h > max_side {
        return Err(PipelineError::OutputTooLarge {
            width: w as u64,
            height: h as u64,
            max: limits.max_dimension,
        });
    }
    let (width, height) = (w as u32, h as u32);
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_src_pixels {
        return Err(PipelineError::TooManyPixels {
            width,
            height,
            pixels,
            max: limits.max_src_pixels,
        });
    }
    let work = document.work(pixels);
    if work > MAX_RENDER_WORK {
        return Err(too_complex(format!(
            "{} nodes, {} layers and {} filter steps at {width}x{height}",
            document.nodes, document.layers, document.filter_primitives
        )));
    }
    deadline::check()?;
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| corrupt(format!("no canvas of {width}x{height} pixels")))?;
    let (intrinsic_w, intrinsic_h) = document.size;
    let transform = tiny_skia::Transform::from_scale(width as f32 / intrinsic_w, height as f32 / intrinsic_h);
    // One library call that cannot be interrupted, bounded by the work
    // budget above; the deadline is checked around it.
    resvg::render(&document.tree, transform, &mut pixmap.as_mut());
    deadline::check()?;
    let rgba = pixmap.take_demultiplied();
    if rgba.chunks_exact(4).all(|p| p[3] == u8::MAX) {
        let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        return super::still(width, height, Channels::Rgb, rgb);
    }
    super::still(width, height, Channels::Rgba, rgba)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Limits;
    use crate::pipeline::probe::probe as sniff;
    use std::time::{Duration, Instant};

    fn render(svg: &str, scale: (f64, f64)) -> Result<Image, PipelineError> {
        let p = sniff(svg.as_bytes())?;
        let request = DecodeRequest {
            scale,
            ..crate::pipeline::Pipeline::new(Limits::default()).decode_request(1.0, false)
        };
        decode(&p, &request)
    }

    fn pixel(image: &Image, x: u32, y: u32) -> Vec<u8> {
        let n = image.channels().count();
        let i = (y as usize * image.width() as usize + x as usize) * n;
        image.frames()[0].data()[i..i + n].to_vec()
    }

    const HALVES: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">
        <rect width="20" height="20" fill="#f00"/><rect x="20" width="20" height="20" fill="#00f"/></svg>"##;

    #[test]
    fn intrinsic_size_from_width_height_viewbox_or_default() {
        let size = |svg: &str| {
            let p = sniff(svg.as_bytes()).unwrap();
            (p.format, p.width, p.height, p.has_alpha)
        };
        assert_eq!(size(HALVES), (SourceFormat::Svg, 40, 20, true));
        let ns = r##"xmlns="http://www.w3.org/2000/svg""##;
        assert_eq!(
            size(&format!(r##"<svg {ns} viewBox="0 0 64 32"/>"##)),
            (SourceFormat::Svg, 64, 32, true)
        );
        assert_eq!(size(&format!("<svg {ns}/>")), (SourceFormat::Svg, 300, 150, true));
        // Units: 1in = 96 px.
        assert_eq!(
            size(&format!(r##"<svg {ns} width="1in" height="0.5in"/>"##)).1,
            96
        );
        // A prolog, a BOM and a prefixed root are still an SVG.
        let prolog = ("\u{FEFF}<?xml version=\"1.0\"?>\n<!-- drawn by hand -->\n<!DOCTYPE svg PUBLIC \
             \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n\
             <s:svg xmlns:s=\"http://www.w3.org/2000/svg\" width=\"7\" height=\"5\"/>")
            .to_owned();
        assert_eq!(size(&prolog), (SourceFormat::Svg, 7, 5, true));
    }

    #[test]
    fn other_xml_and_text_are_not_svg() {
        for text in [
            "<html><svg/></html>",
            "<?xml version=\"1.0\"?><svgx/>",
            "svg",
            "<!-- <svg> -->",
        ] {
            assert_eq!(
                sniff(text.as_bytes()),
                Err(PipelineError::UnsupportedFormat),
                "{text}"
            );
        }
    }

    #[test]
    fn renders_at_the_requested_scale() {
        let image = render(HALVES, (1.0, 1.0)).unwrap();
        assert_eq!((image.width(), image.height()), (40, 20));
        // Opaque everywhere: RGB.
        assert_eq!(image.channels(), Channels::Rgb);
        assert_eq!(pixel(&image, 5, 10), [255, 0, 0]);
        assert_eq!(pixel(&image, 35, 10), [0, 0, 255]);
        // Ten times larger: drawn, so the edge between the halves stays sharp.
        let image = render(HALVES, (10.0, 10.0)).unwrap();
        assert_eq!((image.width(), image.height()), (400, 200));
        assert_eq!(pixel(&image, 198, 100), [255, 0, 0]);
        assert_eq!(pixel(&image, 201, 100), [0, 0, 255]);
        // A distorted scale.
        let image = render(HALVES, (0.5, 2.0)).unwrap();
        assert_eq!((image.width(), image.height()), (20, 40));
    }

    #[test]
    fn transparency_is_kept() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
            <circle cx="5" cy="5" r="2" fill="#0f0" fill-opacity="0.5"/></svg>"##;
        let image = render(svg, (1.0, 1.0)).unwrap();
        assert_eq!(image.channels(), Channels::Rgba);
        assert_eq!(pixel(&image, 0, 0), [0, 0, 0, 0]);
        let centre = pixel(&image, 5, 5);
        assert_eq!(centre[1], 255, "{centre:?}");
        assert!(centre[3].abs_diff(128) <= 1, "{centre:?}");
    }

    #[test]
    fn entities_are_refused_before_parsing() {
        let mut laughs = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE svg [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", i - 1)
            };
            laughs.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        laughs.push_str("]>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&lol9;</text></svg>");
        let started = Instant::now();
        let err = sniff(laughs.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, PipelineError::Unprocessable(m) if m.contains("entities")),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn external_and_embedded_images_are_not_loaded() {
        // A file next to the process and a data: PNG: neither is drawn.
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">
            <image href="/etc/hostname" width="10" height="10"/>
            <image xlink:href="Cargo.toml" width="10" height="10"/>
            <image href="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==" width="10" height="10"/>
            </svg>"##;
        let image = render(svg, (1.0, 1.0)).unwrap();
        assert!(image.frames()[0].data().iter().all(|&v| v == 0));
    }

    #[test]
    fn use_bombs_are_refused_from_the_xml() {
        let mut svg = String::from(
            r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><defs><rect id="a0" width="1" height="1"/>"##,
        );
        for i in 1..10 {
            svg.push_str(&format!("<g id=\"a{i}\">"));
            for _ in 0..10 {
                svg.push_str(&format!("<use xlink:href=\"#a{}\"/>", i - 1));
            }
            svg.push_str("</g>");
        }
        svg.push_str("</defs><use xlink:href=\"#a9\"/></svg>");
        let started = Instant::now();
        let err = sniff(svg.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, PipelineError::Unprocessable(m) if m.contains("too complex")),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn deep_nesting_is_refused_before_usvg_recurses() {
        let nested = |depth: usize| {
            format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{}<rect width="10" height="10" fill="#f00"/>{}</svg>"##,
                "<g>".repeat(depth),
                "</g>".repeat(depth)
            )
        };
        // As deep as allowed draws, on a test thread's 2 MiB stack.
        let image = render(&nested(MAX_DEPTH as usize - 2), (1.0, 1.0)).unwrap();
        assert_eq!(pixel(&image, 5, 5), [255, 0, 0]);
        let err = sniff(nested(100_000).as_bytes()).unwrap_err();
        assert!(
            matches!(&err, PipelineError::Unprocessable(m) if m.contains("levels deep")),
            "{err}"
        );
        // A chain of references as long is refused the same way.
        let mut chain = String::from(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect id="r0" width="1" height="1"/>"##,
        );
        for i in 1..5000 {
            chain.push_str(&format!(r##"<use id="r{i}" href="#r{}"/>"##, i - 1));
        }
        chain.push_str("</svg>");
        assert!(matches!(
            sniff(chain.as_bytes()),
            Err(PipelineError::Unprocessable(_))
        ));
    }

    #[test]
    fn rendered_size_is_held_to_the_limits_before_the_canvas() {
        let huge = r##"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>"##;
        let p = sniff(huge.as_bytes()).unwrap();
        assert_eq!((p.width, p.height), (100_000, 100_000));
        // No pixel limit on the intrinsic size: only the render counts.
        assert!(p.check_limits(&Limits::default()).is_ok());
        assert!(matches!(
            render(huge, (1.0, 1.0)),
            Err(PipelineError::OutputTooLarge { .. })
        ));
        assert!(matches!(
            render(huge, (0.08, 0.08)),
            Err(PipelineError::TooManyPixels { .. })
        ));
        let image = render(huge, (0.003, 0.003)).unwrap();
        assert_eq!((image.width(), image.height()), (300, 300));
    }

    #[test]
    fn filter_heavy_documents_are_refused_by_their_work() {
        let mut svg = String::from(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1000"><filter id="b"><feGaussianBlur stdDeviation="400"/></filter>"##,
        );
        for _ in 0..200 {
            svg.push_str(r##"<rect width="1000" height="1000" filter="url(#b)"/>"##);
        }
        svg.push_str("</svg>");
        let started = Instant::now();
        let err = render(&svg, (4.0, 4.0)).unwrap_err();
        assert!(
            matches!(&err, PipelineError::Unprocessable(m) if m.contains("too complex")),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // The same at a thumbnail's size is cheap enough to draw.
        assert!(render(&svg, (0.05, 0.05)).is_ok());
    }

    #[test]
    fn svgz_is_inflated() {
        let deflated = miniz_oxide::deflate::compress_to_vec(HALVES.as_bytes(), 6);
        let mut gz = vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3];
        gz.extend(deflated);
        gz.extend_from_slice(&[0; 8]);
        let p = sniff(&gz).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Svg, 40, 20));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for cut in 0..HALVES.len() {
            if let Ok(p) = sniff(&HALVES.as_bytes()[..cut]) {
                let request = crate::pipeline::Pipeline::new(Limits::default()).decode_request(1.0, false);
                let _ = decode(&p, &request);
            }
        }
        assert!(matches!(
            sniff(&HALVES.as_bytes()[..60]),
            Err(PipelineError::Corrupt(_))
        ));
    }
}
