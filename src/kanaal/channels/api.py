"""Channel endpoints: admins write, readers read."""

from __future__ import annotations

from fastapi import APIRouter, status

from kanaal.channels import service
from kanaal.channels.schemas import ChannelIn, ChannelOut, ChannelPatch
from kanaal.core.http import AdminKey, Ctx, ReadKey

router = APIRouter(prefix="/v1/channels", tags=["channels"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChannelOut)
def create_channel(body: ChannelIn, ctx: Ctx, _principal: AdminKey) -> ChannelOut:
    """Create a sales channel."""
    return ChannelOut.of(service.create_channel(ctx, body.model_dump()))


@router.get("", response_model=list[ChannelOut])
def list_channels(ctx: Ctx, _principal: ReadKey) -> list[ChannelOut]:
    """Every channel, by handle."""
    return [ChannelOut.of(channel) for channel in service.list_channels(ctx)]


@router.get("/{id_or_handle}", response_model=ChannelOut)
def get_channel(id_or_handle: str, ctx: Ctx, _principal: ReadKey) -> ChannelOut:
    """One channel by id or handle."""
    return ChannelOut.of(service.get_channel(ctx, id_or_handle))


@router.patch("/{id_or_handle}", response_model=ChannelOut)
def change_channel(id_or_handle: str, body: ChannelPatch, ctx: Ctx,
                   _principal: AdminKey) -> ChannelOut:
    """Change some of a channel's fields (the kind is fixed)."""
    changes = body.model_dump(exclude_unset=True)
    return ChannelOut.of(service.change_channel(ctx, id_or_handle, changes))
