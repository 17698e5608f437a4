//! Integration tests: the real server on an ephemeral port, in front of a
//! local origin on 127.0.0.1, checked on real outputs.

mod api;
mod cld_geom;
mod cld_pixels;
mod cli;
mod cloudinary;
mod damaged;
mod deadline;
mod edges;
mod errors;
mod formats;
mod hostile;
mod inputs;
mod mounts;
mod origins;
mod pipeline;
mod pixels;
mod quality;
mod s3;
mod serving;
mod support;
mod vector_jxl;
