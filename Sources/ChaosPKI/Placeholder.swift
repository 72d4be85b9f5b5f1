// ChaosPKI: see PKI.swift
