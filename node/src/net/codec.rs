//! The request-response codec, and handing answers to this node's waiting
//! requests ([`settle`], for both protocols). A request is one signed Passport message (its raw
//! COSE bytes, already CBOR, so no re-encoding); a response is a one-byte tag and,
//! for some tags, bytes. Both are framed with a 4-byte big-endian length, refused
//! above a hard cap before anything is read into memory.

use std::io;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use libp2p::{StreamProtocol, request_response};
use passport_protocol::{MessageId, limits::MAX_MESSAGE_BYTES};

/// The request-response protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/passport/message/1");

/// Largest frame: a message plus a little room for a response's tag and text.
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE_BYTES + 1024;

const TAG_MESSAGE: u8 = 1;
const TAG_PENDING: u8 = 2;
const TAG_ACCEPTED: u8 = 3;
const TAG_REFUSED: u8 = 4;
const TAG_BUSY: u8 = 5;
const TAG_ALREADY_RECEIVED: u8 = 6;
const TAG_QUEUED: u8 = 7;

/// What a node answers to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// A signed message in return (a grant, a refusal, an update, a receipt).
    Message(Vec<u8>),
    /// The request waits for the person to decide.
    Pending(MessageId),
    /// Received and acted on; nothing to send back.
    Accepted,
    /// Refused, with the reason, for a person to read (a typed error's message).
    /// Final: sending the same message again gets the same answer.
    Refused(String),
    /// Not handled now (the sender's rate or this node's load); retry later.
    Busy,
    /// This very message was received and acted on before (a retry whose first
    /// answer was lost): delivered, nothing more to do.
    AlreadyReceived,
    /// The recipient could not be reached; the message waits at this many of its
    /// mailboxes (one to four) for its node to come back.
    Queued(u8),
}

/// Length-prefixed frames with a hard size cap.
#[derive(Debug, Clone, Copy, Default)]
pub struct Codec;

/// Reads one frame of at most `max` bytes, refusing a larger one before reading it.
pub(super) async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the {max}-byte limit"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes `bytes` as one frame, refusing more than `max` bytes, and closes.
pub(super) async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: &[u8],
    max: usize,
) -> io::Result<()> {
    if bytes.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "frame over the size limit",
        ));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

/// Encodes a response as its frame content.
pub(crate) fn encode_response(response: &Response) -> Vec<u8> {
    match response {
        Response::Message(bytes) => [&[TAG_MESSAGE][..], bytes].concat(),
        Response::Pending(id) => [&[TAG_PENDING][..], id.as_bytes()].concat(),
        Response::Accepted => vec![TAG_ACCEPTED],
        Response::Busy => vec![TAG_BUSY],
        Response::AlreadyReceived => vec![TAG_ALREADY_RECEIVED],
        Response::Queued(mailboxes) => vec![TAG_QUEUED, *mailboxes],
        Response::Refused(reason) => {
            let reason = reason.as_bytes();
            [&[TAG_REFUSED][..], &reason[..reason.len().min(1000)]].concat()
        }
    }
}

/// Decodes a response frame.
pub(crate) fn decode_response(frame: &[u8]) -> io::Result<Response> {
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("malformed response: {what}"),
        )
    };
    let (tag, rest) = frame.split_first().ok_or_else(|| bad("empty"))?;
    match *tag {
        TAG_MESSAGE => Ok(Response::Message(rest.to_vec())),
        TAG_PENDING => {
            let id: [u8; 16] = rest
                .try_into()
                .map_err(|_| bad("pending id is not 16 bytes"))?;
            Ok(Response::Pending(MessageId::from_bytes(id)))
        }
        TAG_ACCEPTED if rest.is_empty() => Ok(Response::Accepted),
        TAG_BUSY if rest.is_empty() => Ok(Response::Busy),
        TAG_ALREADY_RECEIVED if rest.is_empty() => Ok(Response::AlreadyReceived),
        TAG_QUEUED => match rest {
            [mailboxes] => Ok(Response::Queued(*mailboxes)),
            _ => Err(bad("queued count is not one byte")),
        },
        TAG_REFUSED => Ok(Response::Refused(
            String::from_utf8_lossy(rest).into_owned(),
        )),
        _ => Err(bad("unknown tag")),
    }
}

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &Self::Protocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = read_frame(io, MAX_FRAME_BYTES).await?;
        if frame.len() > MAX_MESSAGE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message over the size limit",
            ));
        }
        Ok(frame)
    }

    async fn read_response<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<Self::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode_response(&read_frame(io, MAX_FRAME_BYTES).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        req: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, MAX_FRAME_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        res: Self::Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode_response(&res), MAX_FRAME_BYTES).await
    }
}

/// This node's requests of one protocol waiting for their answers, by request id.
pub(super) type Waiting<Res> = std::collections::HashMap<
    request_response::OutboundRequestId,
    tokio::sync::oneshot::Sender<Result<Res, super::error::NetError>>,
>;

/// An inbound request, with its peer and the channel to answer on.
pub(super) type Inbound<Req, Res> = (libp2p::PeerId, Req, request_response::ResponseChannel<Res>);

/// Hands an answer to one of `waiting` (or its failure) to whoever waits for it,
/// and returns an inbound request for the caller to handle; other events need
/// nothing.
pub(super) fn settle<Req, Res>(
    waiting: &mut Waiting<Res>,
    event: request_response::Event<Req, Res>,
) -> Option<Inbound<Req, Res>> {
    match event {
        request_response::Event::Message { peer, message, .. } => match message {
            request_response::Message::Request {
                request, channel, ..
            } => return Some((peer, request, channel)),
            request_response::Message::Response {
                request_id,
                response,
            } => {
                if let Some(reply) = waiting.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
        },
        request_response::Event::OutboundFailure {
            request_id, error, ..
        } => {
            if let Some(reply) = waiting.remove(&request_id) {
                let _ = reply.send(Err(super::error::NetError::Unreachable(error.to_string())));
            }
        }
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use futures::io::Cursor;

    use super::*;

    #[test]
    fn responses_round_trip() {
        for r in [
            Response::Message(vec![1, 2, 3]),
            Response::Pending(MessageId::from_bytes([7; 16])),
            Response::Accepted,
            Response::Busy,
            Response::AlreadyReceived,
            Response::Queued(2),
            Response::Refused("inbox full".into()),
        ] {
            assert_eq!(decode_response(&encode_response(&r)).unwrap(), r);
        }
        assert!(decode_response(&[]).is_err());
        assert!(decode_response(&[9]).is_err());
        assert!(decode_response(&[TAG_PENDING, 1, 2]).is_err());
    }

    #[test]
    fn oversize_frames_are_refused_before_reading_them() {
        futures::executor::block_on(async {
            let mut claim = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes().to_vec();
            claim.extend([0u8; 16]); // far less than claimed: nothing is allocated for it
            let err = read_frame(&mut Cursor::new(claim), MAX_FRAME_BYTES)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let mut ok = 3u32.to_be_bytes().to_vec();
            ok.extend([1, 2, 3]);
            assert_eq!(
                read_frame(&mut Cursor::new(ok), MAX_FRAME_BYTES)
                    .await
                    .unwrap(),
                vec![1, 2, 3]
            );
            let truncated = [0, 0, 0, 9, 1];
            assert!(
                read_frame(&mut Cursor::new(&truncated[..]), MAX_FRAME_BYTES)
                    .await
                    .is_err()
            );
        });
    }
}
