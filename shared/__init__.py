"""Yishi platform: contracts, persistence, transport and observability shared by every service.

Framework code lives here so that each service's domain stays pure.
"""
