//! Integration tests: the real server on an ephemeral port, in front of a
//! local origin on 127.0.0.1, checked on real outputs.

mod api;
mod browser;
mod cld_geom;
mod cld_layers;
mod cld_pixels;
mod cli;
mod cloudinary;
mod damaged;
mod deadline;
mod edges;
mod errors;
mod formats;
mod heif;
mod hostile;
mod info;
mod inputs;
mod mounts;
mod origins;
mod pipeline;
mod pixels;
mod playground;
mod quality;
mod s3;
mod serving;
mod support;
mod timing;
mod vector_jxl;
