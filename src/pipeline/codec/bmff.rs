//! ISO-BMFF image headers (AVIF and HEIC/HEIF): our own bounded box reader.
//!
//! Both formats are HEIF files: an `ftyp` box naming brands, then a `meta`
//! box describing items (the primary image, its tiles, its alpha plane,
//! thumbnails, EXIF) and their properties (`ispe` size, `pixi` bit depth,
//! `irot`/`imir` orientation, `colr` colour), and the coded data elsewhere.
//! This module reads that description alone, so that the pixel limit is
//! applied from `ispe` before any decoder sees the file, and so that the
//! default build can say what a file is (size, alpha, orientation) even
//! where it cannot decode it.
//!
//! Every read is bounds-checked; a box whose size runs past its parent is a
//! truncated file (`422 corrupt_image`). Only known containers are entered,
//! each at a fixed place (`meta` > `iinf`/`iref`/`iprp` > `ipco`, `moov` >
//! `trak` > `tkhd`), so nesting is bounded by construction and a box cannot
//! refer back to itself; the number of boxes, items, properties and
//! associations read is capped ([`MAX_CHILDREN`], [`MAX_ITEMS`]).

use super::{MAX_ICC_BYTES, be16, be32, corrupt, truncated};
use crate::pipeline::PipelineError;

/// Most child boxes read in one container. A real file has a handful per
/// container (and tens of properties); a grid of many tiles has one `infe`
/// per tile, which [`MAX_ITEMS`] bounds too.
const MAX_CHILDREN: usize = 4096;

/// Most items described by `iinf` and associations read from `ipma`: a
/// 12 MP grid of 512x512 tiles has 48 tiles, an iPhone HEIC about 50 items.
const MAX_ITEMS: usize = 4096;

/// Most tiles a grid image may have. HEIF's grid has at most 256 x 256
/// tiles; beyond a few thousand the tile bookkeeping alone is the cost, and
/// no camera or encoder writes that many (iPhones: 48 or 96).
pub(crate) const MAX_GRID_TILES: usize = 4096;

/// Auxiliary types that mark an item as the alpha plane of another
/// (`auxC`): MIAF/AVIF's and HEVC's.
const ALPHA_URNS: [&[u8]; 2] = [
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    b"urn:mpeg:hevc:2015:auxid:1",
];

/// One box: its four-character type and its body (after the header).
#[derive(Debug, Clone, Copy)]
struct Bx<'a> {
    kind: [u8; 4],
    body: &'a [u8],
}

/// The boxes laid end to end in `data` (a file, or a container's body), at
/// most [`MAX_CHILDREN`]; a box running past the end is a truncated file.
fn boxes(data: &[u8]) -> Result<Vec<Bx<'_>>, PipelineError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        if out.len() == MAX_CHILDREN {
            return Err(corrupt("an ISO-BMFF box holds too many boxes"));
        }
        let size32 = be32(data, at).ok_or_else(truncated)?;
        let kind: [u8; 4] = data
            .get(at + 4..at + 8)
            .ok_or_else(truncated)?
            .try_into()
            .map_err(|_| truncated())?;
        let (header, size) = match size32 {
            // To the end of the enclosing data.
            0 => (8, data.len() - at),
            1 => {
                let hi = u64::from(be32(data, at + 8).ok_or_else(truncated)?);
                let lo = u64::from(be32(data, at + 12).ok_or_else(truncated)?);
                let large = usize::try_from(hi << 32 | lo).map_err(|_| truncated())?;
                (16, large)
            }
            n => (8, n as usize),
        };
        if size < header {
            return Err(corrupt(format!(
                "the ISO-BMFF box `{}` is smaller than its header",
                String::from_utf8_lossy(&kind)
            )));
        }
        let end = at.checked_add(size).ok_or_else(truncated)?;
        let body = data.get(at + header..end).ok_or_else(truncated)?;
        out.push(Bx { kind, body });
        at = end;
    }
    Ok(out)
}

/// The body of a full box after its version and flags.
fn full(body: &[u8]) -> Result<(u8, u32, &[u8]), PipelineError> {
    let vf = be32(body, 0).ok_or_else(truncated)?;
    Ok(((vf >> 24) as u8, vf & 0x00FF_FFFF, &body[4..]))
}

/// The colour description of an image (`colr`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Colour {
    /// CICP code points (`nclx`): primaries, transfer, matrix, full range.
    pub nclx: Option<Nclx>,
    /// An embedded ICC profile (`rICC`/`prof`), when not over [`MAX_ICC_BYTES`].
    pub icc: Option<Vec<u8>>,
}

/// CICP colour code points (ITU-T H.273) of an `nclx` colour box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nclx {
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

/// What one item's properties say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Props {
    size: Option<(u32, u32)>,
    bit_depth: Option<u8>,
    /// Display transform as EXIF orientation, from `irot`/`imir` in the
    /// order they are associated.
    orientation: Orientation,
    colour: Colour,
    alpha_aux: bool,
}

/// A symmetry of the rectangle kept as "flip left-right first (when
/// `flip`), then turn clockwise by `turns` quarter turns", to compose
/// `irot` and `imir` in their order and name the result in EXIF's terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Orientation {
    turns: u8,
    flip: bool,
}

impl Orientation {
    /// `irot`: a turn of `quarters` x 90 degrees anticlockwise.
    fn rotate_anticlockwise(self, quarters: u8) -> Orientation {
        Orientation {
            turns: (self.turns + 4 - quarters % 4) % 4,
            flip: self.flip,
        }
    }

    /// `imir` mode 0 exchanges top and bottom, mode 1 left and right
    /// (ISO/IEC 23008-12:2022, as libheif and libavif read it).
    fn mirror(self, left_right: bool) -> Orientation {
        // Flip left-right after a turn r: the same as flipping first, then
        // turning by -r; top-bottom is left-right followed by a half turn.
        let extra = if left_right { 0 } else { 2 };
        Orientation {
            turns: (extra + 4 - self.turns) % 4,
            flip: !self.flip,
        }
    }

    /// The EXIF orientation (1..=8) of the same display transform.
    fn exif(self) -> u8 {
        match (self.turns, self.flip) {
            (0, false) => 1,
            (0, true) => 2,
            (2, false) => 3,
            (2, true) => 4,
            (3, true) => 5,
            (1, false) => 6,
            (1, true) => 7,
            _ => 8,
        }
    }
}

/// The header of a HEIF/AVIF file: what the probe and the decoder need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Size of the primary image as stored (before `irot`), from `ispe`:
    /// for a grid, the size of the whole.
    pub width: u32,
    pub height: u32,
    /// Bits per sample of the primary image (`pixi`), 8 when absent.
    pub bit_depth: u8,
    /// EXIF-style orientation (1..=8) from `irot`/`imir`.
    pub orientation: u8,
    /// `colr` of the primary image (for a grid, of the grid or else of its
    /// first tile).
    pub colour: Colour,
    /// An alpha plane is an auxiliary item of the primary image.
    pub has_alpha: bool,
    /// The alpha plane is premultiplied (`prem` reference).
    pub premultiplied: bool,
    /// Item type of the primary image: `av01`, `hvc1`, `grid`, ...
    pub item_type: [u8; 4],
    /// Tiles of a grid primary image (0 otherwise).
    pub tiles: usize,
    /// The file also (or only) holds an image sequence (`moov`).
    pub sequence: bool,
}

/// An item of `iinf`: its id and type.
#[derive(Debug, Clone, Copy)]
struct Item {
    id: u32,
    kind: [u8; 4],
}

/// An `iref` reference: from an item to others, of a kind (`auxl`, `dimg`,
/// `thmb`, `prem`, ...).
#[derive(Debug, Clone)]
struct Reference {
    kind: [u8; 4],
    from: u32,
    to: Vec<u32>,
}

/// Reads the header of an ISO-BMFF image: the primary item of `meta`, or,
/// for an image sequence without one, the first video track's size.
pub(crate) fn read(bytes: &[u8]) -> Result<Header, PipelineError> {
    let top = boxes_prefix(bytes)?;
    let meta = top.iter().find(|b| &b.kind == b"meta");
    let moov = top.iter().find(|b| &b.kind == b"moov");
    match (meta, moov) {
        (Some(meta), moov) => {
            let mut header = read_meta(meta.body)?;
            header.sequence = moov.is_some();
            Ok(header)
        }
        (None, Some(moov)) => read_moov(moov.body),
        (None, None) => Err(corrupt(
            "the HEIF/AVIF file has no image description (`meta` box)",
        )),
    }
}

/// The top-level boxes, stopping at the first whose header is cut off or
/// whose body runs past the end once `meta` or `moov` were seen: the coded
/// data (`mdat`) is the decoder's business, and a file cut inside it still
/// has a readable header.
fn boxes_prefix(bytes: &[u8]) -> Result<Vec<Bx<'_>>, PipelineError> {
    let mut out: Vec<Bx<'_>> = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        if out.len() == MAX_CHILDREN {
            return Err(corrupt("the file holds too many top-level boxes"));
        }
        let described = out.iter().any(|b| &b.kind == b"meta" || &b.kind == b"moov");
        let rest = &bytes[at..];
        match first_box_len(rest).map(|len| (len, boxes(&rest[..len]))) {
            Some((len, Ok(one))) if one.len() == 1 => {
                out.push(one[0]);
                at += len;
            }
            _ if described => break,
            Some((_, Err(e))) => return Err(e),
            _ => return Err(truncated()),
        }
    }
    Ok(out)
}

/// The length of the box starting `data` from its header, when it fits.
fn first_box_len(data: &[u8]) -> Option<usize> {
    let size = be32(data, 0)?;
    let len = match size {
        0 => data.len(),
        1 => {
            let hi = u64::from(be32(data, 8)?);
            let lo = u64::from(be32(data, 12)?);
            usize::try_from(hi << 32 | lo).ok()?
        }
        n => n as usize,
    };
    (len <= data.len()).then_some(len)
}

fn read_meta(body: &[u8]) -> Result<Header, PipelineError> {
    let (_, _, body) = full(body)?;
    let children = boxes(body)?;
    let find = |kind: &[u8; 4]| children.iter().find(|b| &b.kind == kind);
    if let Some(hdlr) = find(b"hdlr") {
        let (_, _, h) = full(hdlr.body)?;
        if h.get(4..8) != Some(b"pict") {
            return Err(corrupt("the HEIF `meta` box does not describe pictures"));
        }
    }
    let pitm = find(b"pitm").ok_or_else(|| corrupt("the HEIF file names no primary image"))?;
    let (version, _, p) = full(pitm.body)?;
    let primary = if version == 0 {
        u32::from(be16(p, 0).ok_or_else(truncated)?)
    } else {
        be32(p, 0).ok_or_else(truncated)?
    };
    let items = match find(b"iinf") {
        Some(iinf) => read_iinf(iinf.body)?,
        None => Vec::new(),
    };
    let refs = match find(b"iref") {
        Some(iref) => read_iref(iref.body)?,
        None => Vec::new(),
    };
    let iprp = find(b"iprp").ok_or_else(|| corrupt("the HEIF file has no item properties"))?;
    let props = read_iprp(iprp.body, &items)?;
    let item_type = items
        .iter()
        .find(|i| i.id == primary)
        .map(|i| i.kind)
        .ok_or_else(|| corrupt("the HEIF primary image is not among its items"))?;
    let own = props.get(primary);
    let (width, height) = own
        .and_then(|p| p.size)
        .ok_or_else(|| corrupt("the HEIF primary image has no size (`ispe`)"))?;
    let tile_ids: Vec<u32> = refs
        .iter()
        .filter(|r| &r.kind == b"dimg" && r.from == primary)
        .flat_map(|r| r.to.iter().copied())
        .collect();
    if &item_type == b"grid" {
        if tile_ids.is_empty() {
            return Err(corrupt("the HEIF grid image has no tiles"));
        }
        if tile_ids.len() > MAX_GRID_TILES {
            return Err(corrupt(format!(
                "the HEIF grid has {} tiles, more than the {MAX_GRID_TILES} read",
                tile_ids.len()
            )));
        }
        // The tiles together cover the grid, with at most a partial tile of
        // overhang per row and column: far more tile pixels than that means
        // the grid's own size is a lie, and the tiles are what get decoded.
        let mut tile_pixels: u64 = 0;
        for id in &tile_ids {
            let (w, h) = props
                .get(*id)
                .and_then(|p| p.size)
                .ok_or_else(|| corrupt("a HEIF grid tile has no size (`ispe`)"))?;
            tile_pixels = tile_pixels.saturating_add(u64::from(w) * u64::from(h));
        }
        let whole = u64::from(width) * u64::from(height);
        if tile_pixels > whole.saturating_mul(4) {
            return Err(corrupt(format!(
                "the HEIF grid's tiles hold {tile_pixels} pixels for an image of {width}x{height}"
            )));
        }
    }
    // The colour and depth of a grid are those of its tiles when the grid
    // itself does not say.
    let first_tile = tile_ids.first().and_then(|id| props.get(*id));
    let colour = match own.map(|p| &p.colour) {
        Some(c) if c.nclx.is_some() || c.icc.is_some() => c.clone(),
        _ => first_tile.map(|p| p.colour.clone()).unwrap_or_default(),
    };
    let bit_depth = own
        .and_then(|p| p.bit_depth)
        .or_else(|| first_tile.and_then(|p| p.bit_depth))
        .unwrap_or(8);
    let aux_of_primary = |r: &&Reference| r.to.contains(&primary);
    let has_alpha = refs
        .iter()
        .filter(|r| &r.kind == b"auxl")
        .filter(aux_of_primary)
        .any(|r| props.get(r.from).is_some_and(|p| p.alpha_aux));
    let premultiplied = refs.iter().any(|r| &r.kind == b"prem" && r.from == primary);
    Ok(Header {
        width,
        height,
        bit_depth,
        orientation: own.map(|p| p.orientation.exif()).unwrap_or(1),
        colour,
        has_alpha,
        premultiplied,
        item_type,
        tiles: if &item_type == b"grid" { tile_ids.len() } else { 0 },
        sequence: false,
    })
}

fn read_iinf(body: &[u8]) -> Result<Vec<Item>, PipelineError> {
    let (version, _, rest) = full(body)?;
    let skip = if version == 0 { 2 } else { 4 };
    let entries = boxes(rest.get(skip..).ok_or_else(truncated)?)?;
    let mut items = Vec::new();
    for infe in entries.iter().filter(|b| &b.kind == b"infe") {
        if items.len() == MAX_ITEMS {
            return Err(corrupt("the HEIF file describes too many items"));
        }
        let (version, _, e) = full(infe.body)?;
        // Versions 0 and 1 (no item type) describe no image.
        let (id, kind_at) = match version {
            2 => (u32::from(be16(e, 0).ok_or_else(truncated)?), 4),
            3 => (be32(e, 0).ok_or_else(truncated)?, 6),
            _ => continue,
        };
        let kind: [u8; 4] = e
            .get(kind_at..kind_at + 4)
            .ok_or_else(truncated)?
            .try_into()
            .map_err(|_| truncated())?;
        items.push(Item { id, kind });
    }
    Ok(items)
}

fn read_iref(body: &[u8]) -> Result<Vec<Reference>, PipelineError> {
    let (version, _, rest) = full(body)?;
    let wide = version != 0;
    let id = |data: &[u8], at: usize| -> Result<u32, PipelineError> {
        if wide {
            be32(data, at).ok_or_else(truncated)
        } else {
            be16(data, at).map(u32::from).ok_or_else(truncated)
        }
    };
    let step = if wide { 4 } else { 2 };
    let mut refs = Vec::new();
    let mut total = 0usize;
    for r in boxes(rest)? {
        let from = id(r.body, 0)?;
        let count = usize::from(be16(r.body, step).ok_or_else(truncated)?);
        total += count;
        if total > MAX_ITEMS {
            return Err(corrupt("the HEIF file holds too many item references"));
        }
        let to = (0..count)
            .map(|i| id(r.body, step + 2 + i * step))
            .collect::<Result<Vec<_>, _>>()?;
        refs.push(Reference {
            kind: r.kind,
            from,
            to,
        });
    }
    Ok(refs)
}

/// Reads `ipco` (the properties, numbered from 1) and `ipma` (which item
/// has which, in order) into each item's [`Props`].
fn read_iprp(body: &[u8], items: &[Item]) -> Result<ItemProps, PipelineError> {
    let children = boxes(body)?;
    let ipco = children
        .iter()
        .find(|b| &b.kind == b"ipco")
        .ok_or_else(|| corrupt("the HEIF file has no property container (`ipco`)"))?;
    let properties = boxes(ipco.body)?;
    let mut out = ItemProps::default();
    for ipma in children.iter().filter(|b| &b.kind == b"ipma") {
        let (version, flags, rest) = full(ipma.body)?;
        let count = be32(rest, 0).ok_or_else(truncated)? as usize;
        let mut at = 4;
        for _ in 0..count {
            if out.0.len() == MAX_ITEMS {
                return Err(corrupt("the HEIF file associates too many items"));
            }
            let id = if version < 1 {
                let v = u32::from(be16(rest, at).ok_or_else(truncated)?);
                at += 2;
                v
            } else {
                let v = be32(rest, at).ok_or_else(truncated)?;
                at += 4;
                v
            };
            let associations = *rest.get(at).ok_or_else(truncated)?;
            at += 1;
            let mut props = Props::default();
            for _ in 0..associations {
                let index = if flags & 1 != 0 {
                    let v = be16(rest, at).ok_or_else(truncated)? & 0x7FFF;
                    at += 2;
                    usize::from(v)
                } else {
                    let v = *rest.get(at).ok_or_else(truncated)? & 0x7F;
                    at += 1;
                    usize::from(v)
                };
                // Index 0 means "no property".
                if let Some(property) = index.checked_sub(1).and_then(|i| properties.get(i)) {
                    apply_property(&mut props, property)?;
                }
            }
            // Only items `iinf` describes count (an unknown id is ignored).
            if items.iter().any(|i| i.id == id) || items.is_empty() {
                out.0.push((id, props));
            }
        }
    }
    Ok(out)
}

/// Each item's properties, by item id.
#[derive(Debug, Default)]
struct ItemProps(Vec<(u32, Props)>);

impl ItemProps {
    fn get(&self, id: u32) -> Option<&Props> {
        self.0.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }
}

fn apply_property(props: &mut Props, property: &Bx<'_>) -> Result<(), PipelineError> {
    match &property.kind {
        b"ispe" => {
            let (_, _, b) = full(property.body)?;
            let width = be32(b, 0).ok_or_else(truncated)?;
            let height = be32(b, 4).ok_or_else(truncated)?;
            props.size = Some((width, height));
        }
        b"pixi" => {
            let (_, _, b) = full(property.body)?;
            let channels = usize::from(*b.first().ok_or_else(truncated)?);
            let depths = b.get(1..1 + channels).ok_or_else(truncated)?;
            props.bit_depth = depths.iter().copied().max();
        }
        b"irot" => {
            let angle = *property.body.first().ok_or_else(truncated)? & 3;
            props.orientation = props.orientation.rotate_anticlockwise(angle);
        }
        b"imir" => {
            let mode = *property.body.first().ok_or_else(truncated)? & 1;
            props.orientation = props.orientation.mirror(mode == 1);
        }
        b"colr" => {
            let kind = property.body.get(0..4).ok_or_else(truncated)?;
            let data = &property.body[4..];
            match kind {
                b"nclx" => {
                    let primaries = be16(data, 0).ok_or_else(truncated)?;
                    let transfer = be16(data, 2).ok_or_else(truncated)?;
                    let matrix = be16(data, 4).ok_or_else(truncated)?;
                    let full_range = data.get(6).ok_or_else(truncated)? & 0x80 != 0;
                    props.colour.nclx = Some(Nclx {
                        primaries,
                        transfer,
                        matrix,
                        full_range,
                    });
                }
                b"rICC" | b"prof" if data.len() <= MAX_ICC_BYTES => {
                    props.colour.icc = Some(data.to_vec());
                }
                _ => {}
            }
        }
        b"auxC" => {
            let (_, _, b) = full(property.body)?;
            let urn = b.split(|&c| c == 0).next().unwrap_or(b);
            props.alpha_aux = ALPHA_URNS.contains(&urn);
        }
        _ => {}
    }
    Ok(())
}

/// An image sequence without a primary still image: the size of the first
/// video track (`tkhd`, 16.16 fixed point). The sequence's pictures are
/// described by its sample tables, which the decoder reads.
fn read_moov(body: &[u8]) -> Result<Header, PipelineError> {
    for trak in boxes(body)?.iter().filter(|b| &b.kind == b"trak") {
        let Some(tkhd) = boxes(trak.body)?.into_iter().find(|b| &b.kind == b"tkhd") else {
            continue;
        };
        let (version, _, t) = full(tkhd.body)?;
        // Times are 32 or 64 bits; width and height are the last 8 bytes
        // of a fixed layout (76 bytes after the times in version 0).
        let at = if version == 1 { 88 } else { 76 };
        let width = be32(t, at).ok_or_else(truncated)? >> 16;
        let height = be32(t, at + 4).ok_or_else(truncated)? >> 16;
        if width == 0 || height == 0 {
            continue;
        }
        return Ok(Header {
            width,
            height,
            bit_depth: 8,
            orientation: 1,
            colour: Colour::default(),
            has_alpha: false,
            premultiplied: false,
            item_type: *b"trak",
            tiles: 0,
            sequence: true,
        });
    }
    Err(corrupt("the image sequence has no video track with a size"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A box of `kind` around `body`.
    pub(crate) fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    /// A full box (version 0, no flags).
    pub(crate) fn fbx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0];
        b.extend_from_slice(body);
        bx(kind, &b)
    }

    fn infe(id: u16, kind: &[u8; 4]) -> Vec<u8> {
        let mut b = vec![2, 0, 0, 0];
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(kind);
        b.push(0);
        bx(b"infe", &b)
    }

    pub(crate) fn ispe(width: u32, height: u32) -> Vec<u8> {
        let mut b = width.to_be_bytes().to_vec();
        b.extend_from_slice(&height.to_be_bytes());
        fbx(b"ispe", &b)
    }

    /// A HEIF file whose item 1 (of `kind`) is primary, with `properties`
    /// all associated to item 1, `extra` items and references as given.
    pub(crate) fn heif(
        brand: &[u8; 4],
        kind: &[u8; 4],
        properties: &[Vec<u8>],
        extra_items: &[(u16, [u8; 4], Vec<u8>)],
        refs: &[([u8; 4], u16, Vec<u16>)],
    ) -> Vec<u8> {
        let mut ftyp = brand.to_vec();
        ftyp.extend_from_slice(&[0, 0, 0, 0]);
        ftyp.extend_from_slice(brand);
        ftyp.extend_from_slice(b"mif1miaf");
        let mut file = bx(b"ftyp", &ftyp);
        let mut hdlr = vec![0; 4];
        hdlr.extend_from_slice(b"pict");
        hdlr.extend_from_slice(&[0; 13]);
        let mut meta = fbx(b"hdlr", &hdlr);
        meta.extend(fbx(b"pitm", &1u16.to_be_bytes()));
        let mut iinf = (1 + extra_items.len() as u16).to_be_bytes().to_vec();
        iinf.extend(infe(1, kind));
        for (id, k, _) in extra_items {
            iinf.extend(infe(*id, k));
        }
        meta.extend(fbx(b"iinf", &iinf));
        if !refs.is_empty() {
            let mut iref = Vec::new();
            for (k, from, to) in refs {
                let mut r = from.to_be_bytes().to_vec();
                r.extend_from_slice(&(to.len() as u16).to_be_bytes());
                for t in to {
                    r.extend_from_slice(&t.to_be_bytes());
                }
                iref.extend(bx(k, &r));
            }
            meta.extend(fbx(b"iref", &iref));
        }
        let mut ipco = Vec::new();
        let mut ipma = (1 + extra_items.len() as u32).to_be_bytes().to_vec();
        ipma.extend_from_slice(&1u16.to_be_bytes());
        ipma.push(properties.len() as u8);
        for (i, p) in properties.iter().enumerate() {
            ipco.extend_from_slice(p);
            ipma.push(i as u8 + 1);
        }
        let mut next = properties.len() as u8 + 1;
        for (id, _, p) in extra_items {
            ipma.extend_from_slice(&id.to_be_bytes());
            let own = boxes(p).unwrap();
            ipma.push(own.len() as u8);
            for _ in &own {
                ipma.push(next);
                next += 1;
            }
            ipco.extend_from_slice(p);
        }
        let mut iprp = bx(b"ipco", &ipco);
        iprp.extend(fbx(b"ipma", &ipma));
        meta.extend(bx(b"iprp", &iprp));
        file.extend(fbx(b"meta", &meta));
        file.extend(bx(b"mdat", &[0; 16]));
        file
    }

    #[test]
    fn primary_size_depth_colour_and_orientation_are_read() {
        let mut nclx = b"nclx".to_vec();
        nclx.extend_from_slice(&[0, 12, 0, 13, 0, 1, 0x80]);
        let file = heif(
            b"avif",
            b"av01",
            &[
                ispe(640, 480),
                fbx(b"pixi", &[3, 10, 10, 10]),
                bx(b"colr", &nclx),
                bx(b"irot", &[1]),
            ],
            &[],
            &[],
        );
        let h = read(&file).unwrap();
        assert_eq!((h.width, h.height, h.bit_depth), (640, 480, 10));
        // 90 degrees anticlockwise is EXIF 8 (270 clockwise).
        assert_eq!(h.orientation, 8);
        assert_eq!(
            h.colour.nclx,
            Some(Nclx {
                primaries: 12,
                transfer: 13,
                matrix: 1,
                full_range: true
            })
        );
        assert!(!h.has_alpha && !h.sequence);
        assert_eq!(&h.item_type, b"av01");
    }

    #[test]
    fn irot_and_imir_compose_in_order() {
        let exif = |props: &[(bool, u8)]| {
            props
                .iter()
                .fold(Orientation::default(), |o, &(is_rot, v)| {
                    if is_rot {
                        o.rotate_anticlockwise(v)
                    } else {
                        o.mirror(v == 1)
                    }
                })
                .exif()
        };
        assert_eq!(exif(&[]), 1);
        assert_eq!(exif(&[(false, 1)]), 2);
        assert_eq!(exif(&[(true, 2)]), 3);
        assert_eq!(exif(&[(false, 0)]), 4);
        assert_eq!(exif(&[(true, 3)]), 6);
        assert_eq!(exif(&[(true, 1)]), 8);
        // A quarter turn anticlockwise, then left-right: the anti-diagonal.
        assert_eq!(exif(&[(true, 1), (false, 1)]), 7);
        assert_eq!(exif(&[(true, 1), (false, 0)]), 5);
        assert_eq!(exif(&[(true, 3), (false, 1)]), 5);
        assert_eq!(exif(&[(true, 3), (false, 0)]), 7);
        assert_eq!(exif(&[(true, 2), (false, 1)]), 4);
    }

    #[test]
    fn alpha_and_grid_tiles_are_found() {
        let mut aux = b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha".to_vec();
        aux.push(0);
        let alpha_props = [ispe(64, 64), fbx(b"auxC", &aux)].concat();
        let file = heif(
            b"avif",
            b"av01",
            &[ispe(64, 64)],
            &[(2, *b"av01", alpha_props)],
            &[(*b"auxl", 2, vec![1]), (*b"prem", 1, vec![2])],
        );
        let h = read(&file).unwrap();
        assert!(h.has_alpha && h.premultiplied);

        let tiles: Vec<(u16, [u8; 4], Vec<u8>)> = (2..6).map(|id| (id, *b"hvc1", ispe(512, 512))).collect();
        let file = heif(
            b"heic",
            b"grid",
            &[ispe(1000, 1000)],
            &tiles,
            &[(*b"dimg", 1, vec![2, 3, 4, 5])],
        );
        let h = read(&file).unwrap();
        assert_eq!((h.width, h.height, h.tiles), (1000, 1000, 4));
        // Tiles of far more pixels than the grid claims.
        let big: Vec<(u16, [u8; 4], Vec<u8>)> = (2..6).map(|id| (id, *b"hvc1", ispe(30000, 30000))).collect();
        let file = heif(
            b"heic",
            b"grid",
            &[ispe(10, 10)],
            &big,
            &[(*b"dimg", 1, vec![2, 3, 4, 5])],
        );
        assert!(matches!(read(&file), Err(PipelineError::Corrupt(_))));
    }

    #[test]
    fn missing_parts_and_every_truncation_are_errors() {
        let file = heif(b"avif", b"av01", &[ispe(8, 8)], &[], &[]);
        assert!(read(&file).is_ok());
        let meta_end = file.windows(4).position(|w| w == b"mdat").unwrap() - 4;
        for cut in 0..meta_end {
            assert!(read(&file[..cut]).is_err(), "cut at {cut}");
        }
        // Cut inside the coded data: the header still reads.
        assert!(read(&file[..file.len() - 3]).is_ok());
        let no_size = heif(b"avif", b"av01", &[fbx(b"pixi", &[1, 8])], &[], &[]);
        assert!(read(&no_size).is_err());
        // A box claiming more than its parent holds.
        let mut lie = file.clone();
        let at = lie.windows(4).position(|w| w == b"ispe").unwrap() - 4;
        lie[at..at + 4].copy_from_slice(&0x7FFF_FFF0u32.to_be_bytes());
        assert!(read(&lie).is_err());
        // A 64-bit size past the end.
        let mut large = file.clone();
        large[at..at + 4].copy_from_slice(&1u32.to_be_bytes());
        assert!(read(&large).is_err());
    }

    #[test]
    fn a_sequence_without_a_still_has_its_track_size() {
        let mut tkhd = vec![0u8; 84];
        tkhd[76..80].copy_from_slice(&(320u32 << 16).to_be_bytes());
        tkhd[80..84].copy_from_slice(&(240u32 << 16).to_be_bytes());
        let trak = bx(b"trak", &fbx(b"tkhd", &tkhd));
        let mut file = bx(b"ftyp", b"avis\0\0\0\0avismsf1");
        file.extend(bx(b"moov", &trak));
        let h = read(&file).unwrap();
        assert_eq!((h.width, h.height, h.sequence), (320, 240, true));
    }
}
