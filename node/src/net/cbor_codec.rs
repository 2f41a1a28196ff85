//! [`CborCodec`]: request-response frames of one CBOR item each, with a 4-byte
//! big-endian length and a hard size cap, for the protocols beside the message
//! protocol (mailboxes, devices).

use std::{io, marker::PhantomData};

use futures::{AsyncRead, AsyncWrite};
use libp2p::{StreamProtocol, request_response};
use serde::{Serialize, de::DeserializeOwned};

use super::codec::{read_frame, write_frame};

/// Requests `Req` and responses `Res` as CBOR items in frames of at most `max`
/// bytes; a larger frame is refused before it is read.
#[derive(Debug)]
pub struct CborCodec<Req, Res> {
    max: usize,
    _items: PhantomData<fn() -> (Req, Res)>,
}

impl<Req, Res> CborCodec<Req, Res> {
    /// Frames of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            _items: PhantomData,
        }
    }
}

impl<Req, Res> Clone for CborCodec<Req, Res> {
    fn clone(&self) -> Self {
        Self::new(self.max)
    }
}

/// Reads one CBOR item of at most `max` bytes.
pub(super) async fn read_item<T, R>(io: &mut R, max: usize) -> io::Result<T>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin + Send,
{
    let frame = read_frame(io, max).await?;
    ciborium::from_reader(frame.as_slice())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("malformed: {e}")))
}

/// Writes one CBOR item, refused if over `max` bytes.
pub(super) async fn write_item<T, W>(io: &mut W, item: &T, max: usize) -> io::Result<()>
where
    T: Serialize,
    W: AsyncWrite + Unpin + Send,
{
    let mut buf = Vec::new();
    ciborium::into_writer(item, &mut buf)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    write_frame(io, &buf, max).await
}

impl<Req, Res> request_response::Codec for CborCodec<Req, Res>
where
    Req: Serialize + DeserializeOwned + Send + Sync + 'static,
    Res: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Res;

    async fn read_request<T>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_item(io, self.max).await
    }

    async fn read_response<T>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Res>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_item(io, self.max).await
    }

    async fn write_request<T>(&mut self, _: &Self::Protocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_item(io, &req, self.max).await
    }

    async fn write_response<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        res: Res,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_item(io, &res, self.max).await
    }
}
