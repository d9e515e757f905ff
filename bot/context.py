"""Typed dependencies, built once in ``bot.app`` and reached from handlers as ``context.deps``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.domain.broadcast import BroadcastService
from bot.domain.cases import CaseService
from bot.domain.citizens import CitizenService
from bot.domain.clock import Clock
from bot.domain.cosign import CoSignService
from bot.domain.dialogues import DialogueService
from bot.domain.directory import Directory
from bot.domain.intake import IntakeService
from bot.domain.petitions import PetitionService
from bot.domain.privacy import PrivacyService
from bot.domain.similarity import SimilarityService
from bot.domain.subscriptions import SubscriptionService
from bot.i18n import Translator
from bot.outbox import Outbox
from storage.audit import AuditLog
from storage.keys import Keys
from storage.timers import TimerRepository
from storage.updates import UpdateLog


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything handlers need; no module-level clients anywhere."""

    settings: Settings
    redis: aioredis.Redis
    keys: Keys
    clock: Clock
    directory: Directory
    translator: Translator
    citizens: CitizenService
    intake: IntakeService
    petitions: PetitionService
    cases: CaseService
    timers: TimerRepository
    audit: AuditLog
    updates: UpdateLog
    dialogues: DialogueService
    privacy: PrivacyService
    broadcasts: BroadcastService
    subscriptions: SubscriptionService
    outbox: Outbox
    cosign: CoSignService  # "me too": co-signers of petitions
    similarity: SimilarityService  # "me too": the index of open petitions


DEPS_KEY = "deps"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's context with a typed ``deps`` property."""

    @property
    def deps(self) -> Deps:
        """The application's dependencies."""
        deps = self.application.bot_data[DEPS_KEY]
        assert isinstance(deps, Deps)
        return deps


BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
